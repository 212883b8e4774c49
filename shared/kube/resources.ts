// Where each kind of object lives in the API, for the CLI. A fixed table instead of discovery (the
// controller manager uses discovery: shared/kube/discovery.ts): init and join
// touch a known set of kinds, and discovery would cost a request per group on every run.
import { FEDERATION_API_VERSION } from '../constants.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

const table: Record<string, ResourceInfo> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/Node': { plural: 'nodes', namespaced: false },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/PersistentVolumeClaim': { plural: 'persistentvolumeclaims', namespaced: true },
  'v1/Pod': { plural: 'pods', namespaced: true },
  'v1/Event': { plural: 'events', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'apps/v1/StatefulSet': { plural: 'statefulsets', namespaced: true },
  'policy/v1/PodDisruptionBudget': { plural: 'poddisruptionbudgets', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': { plural: 'validatingadmissionpolicies', namespaced: false },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': { plural: 'validatingadmissionpolicybindings', namespaced: false },
  'coordination.k8s.io/v1/Lease': { plural: 'leases', namespaced: true },
  [`${FEDERATION_API_VERSION}/Cluster`]: { plural: 'clusters', namespaced: false },
};

function info(apiVersion: string, kind: string): ResourceInfo {
  const found = table[`${apiVersion}/${kind}`];
  if (!found) throw new Error(`no resource path known for ${apiVersion} ${kind}`);
  return found;
}

/** The collection path, e.g. /apis/apps/v1/namespaces/ns/deployments. */
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const { plural, namespaced } = info(apiVersion, kind);
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  if (namespaced && !namespace) throw new Error(`${kind} is namespaced: a namespace is needed`);
  return namespaced ? `${prefix}/namespaces/${encodeURIComponent(namespace!)}/${plural}` : `${prefix}/${plural}`;
}

/** A namespaced kind's objects in every namespace, e.g. /apis/rbac.authorization.k8s.io/v1/rolebindings. */
export function allNamespacesPath(apiVersion: string, kind: string): string {
  return `${apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`}/${info(apiVersion, kind).plural}`;
}

export function objectPath(apiVersion: string, kind: string, name: string, namespace?: string): string {
  return `${collectionPath(apiVersion, kind, namespace)}/${encodeURIComponent(name)}`;
}

export function pathOf(obj: KubeObject): string {
  return objectPath(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace);
}

/** "secret federation-system/apiserver-credentials", for messages. */
export function describe(obj: KubeObject): string {
  const ns = obj.metadata.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.kind} ${ns}${obj.metadata.name}`;
}
