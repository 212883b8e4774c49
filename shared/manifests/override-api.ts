// The Override and ClusterOverride kinds: per-cluster variation of propagated objects (shared/propagation/overrides.ts
// renders it). Its schema refuses at `kubectl apply` what it can: a rule with no operation, a tag
// beside a digest, a JSON patch op that is no RFC 6902 op or a path that is no JSON pointer.
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { FEDERATION_GROUP, FEDERATION_VERSION } from '../constants.ts';
import { metadata } from './meta.ts';
import type { Typed } from './types.ts';

/** JSON schema as the API server reads it (the client's type has no x-kubernetes-validations). */
type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const strings: Schema = { type: 'array', items: str };
const stringMap: Schema = { type: 'object', additionalProperties: str };
const containers: Schema = { ...strings, description: 'Only these containers (init containers included); every container when absent.' };
const setRemove = (what: string): Schema => ({
  type: 'object',
  description: `${what}: set these, remove those.`,
  properties: { set: stringMap, remove: strings },
});

const rule: Schema = {
  type: 'object',
  properties: {
    clusterSelector: { ...str, description: 'Cluster labels, in kubectl\'s selector syntax (region=eu,tier in (web,api)); with clusters, both must hold; neither: every member.' },
    clusters: { ...strings, description: 'Cluster names.' },
    image: {
      type: 'object',
      properties: { containers, registry: str, repository: str, tag: str, digest: { ...str, pattern: '^[a-z0-9]+:[a-f0-9]{32,}$' } },
      'x-kubernetes-validations': [{ rule: '!(has(self.tag) && has(self.digest))', message: 'give a tag or a digest, not both: an image reference names one image' }],
    },
    env: { type: 'object', properties: { containers, set: stringMap, remove: strings } },
    command: { type: 'object', required: ['values'], properties: { containers, values: strings } },
    args: { type: 'object', required: ['values'], properties: { containers, values: strings } },
    labels: setRemove('Labels'),
    annotations: setRemove('Annotations'),
    replicas: { type: 'integer', minimum: 0, description: "This member's replicas, in place of its share of spec.replicas." },
    jsonPatch: {
      type: 'array',
      description: 'RFC 6902 operations on the member\'s copy, for anything the other operations do not cover.',
      items: {
        type: 'object',
        required: ['op', 'path'],
        properties: {
          op: { type: 'string', enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] },
          path: { ...str, pattern: '^(/([^~]|~[01])*)*$' },
          from: { ...str, pattern: '^(/([^~]|~[01])*)*$' },
          value: { 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: 'has(self.image) || has(self.env) || has(self.command) || has(self.args) || has(self.labels) || has(self.annotations) || has(self.replicas) || has(self.jsonPatch)',
      message: 'a rule needs an operation: image, env, command, args, labels, annotations, replicas or jsonPatch',
    },
  ],
};

/** The whole object: a spec of resource selectors and rules. */
const overrideSchema: Schema = {
  type: 'object',
  description: 'How the copies of some objects of this namespace differ per member: rules applied after placement and replica division, Overrides by name, rules in order (later wins).',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      required: ['resourceSelectors', 'rules'],
      properties: {
        resourceSelectors: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['kind'],
            properties: { apiVersion: str, kind: str, name: str, selector: { ...str, description: "Object labels, in kubectl's selector syntax." } },
          },
        },
        rules: { type: 'array', minItems: 1, items: rule },
      },
    },
  },
};

/** Override (namespaced: a namespace's objects) or ClusterOverride (cluster-scoped objects): one schema. */
export function overrideCRD(federation: string, scope: 'Namespaced' | 'Cluster' = 'Namespaced'): Typed<V1CustomResourceDefinition> {
  const names =
    scope === 'Namespaced'
      ? { plural: 'overrides', singular: 'override', kind: 'Override', listKind: 'OverrideList', shortNames: ['ov'], categories: ['federation'] }
      : { plural: 'clusteroverrides', singular: 'clusteroverride', kind: 'ClusterOverride', listKind: 'ClusterOverrideList', shortNames: ['cov'], categories: ['federation'] };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: metadata(`${names.plural}.${FEDERATION_GROUP}`, federation),
    spec: {
      group: FEDERATION_GROUP,
      scope,
      names,
      versions: [
        {
          name: FEDERATION_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: 'Kinds', type: 'string', jsonPath: '.spec.resourceSelectors[*].kind' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          // Sent as written: the schema's x-kubernetes-* keys are the API server's, not the client's type.
          schema: { openAPIV3Schema: overrideSchema },
        },
      ],
    },
  };
}
