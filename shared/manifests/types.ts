// Objects as typed values: client-node's model types (types only: nothing of client-node is loaded
// at run time) made to carry the apiVersion, kind and name every applied object must have.
import type { KubeObject } from '../kube/resources.ts';

export type Typed<T> = T & KubeObject;
