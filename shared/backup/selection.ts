// What a backup holds: every object a user or our controllers made in the federation, and nothing
// the API server makes itself (a fresh one has those already) or that only describes a moment
// (Events, leader Leases, the Propagation records the controller manager writes anew).
import { FEDERATION_GROUP } from '../constants.ts';
import type { ApiResource } from '../kube/discovery.ts';
import type { KubeObject } from '../kube/resources.ts';

/** group/plural of resources never backed up, and why. */
const SKIPPED_RESOURCES: Record<string, string> = {
  '/events': 'a record of a moment',
  'events.k8s.io/events': 'a record of a moment',
  'coordination.k8s.io/leases': 'leader election: a new controller manager takes its own',
  'coordination.k8s.io/leasecandidates': 'leader election',
  [`${FEDERATION_GROUP}/propagations`]: 'records the controller manager writes anew from the objects',
  'internal.apiserver.k8s.io/storageversions': "the API server's own",
  'storagemigration.k8s.io/storageversionmigrations': "the API server's own",
  'apiregistration.k8s.io/apiservices': 'the API server registers its own groups',
  '/componentstatuses': 'read-only',
};

/** The resources a backup lists: each kind once (its group's preferred version), listable and creatable. */
export function backedUpResources(resources: ApiResource[]): ApiResource[] {
  return resources.filter((r) => r.preferred && r.verbs.includes('list') && r.verbs.includes('create') && !SKIPPED_RESOURCES[`${r.group}/${r.plural}`]);
}

const BOOTSTRAP_LABEL = 'kubernetes.io/bootstrapping';
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

/** Whether an object is the federation's data, rather than what its API server makes at start. */
export function isBackedUp(r: Pick<ApiResource, 'group' | 'plural'>, obj: KubeObject): boolean {
  const { name, namespace, labels, annotations } = obj.metadata as KubeObject['metadata'] & { annotations?: Record<string, string>; deletionTimestamp?: string };
  if ((obj.metadata as { deletionTimestamp?: string }).deletionTimestamp) return false;
  // RBAC's defaults (system:*, admin, edit, view, cluster-admin) and APF's are made by every API server.
  if (labels?.[BOOTSTRAP_LABEL] === 'rbac-defaults') return false;
  if (annotations?.['apf.kubernetes.io/autoupdate-spec'] === 'true') return false;
  if (r.group === 'scheduling.k8s.io' && name.startsWith('system-')) return false;
  if (namespace === 'default' && name === 'kubernetes' && ['services', 'endpoints', 'endpointslices'].includes(r.plural)) return false;
  if (r.plural === 'configmaps' && name === 'kube-root-ca.crt') return false;
  // A legacy token is bound to its ServiceAccount's UID, which a restore cannot keep.
  if (r.plural === 'secrets' && obj.type === 'kubernetes.io/service-account-token') return false;
  // The system namespaces' contents are the API server's; the namespaces themselves are kept for
  // their labels and annotations (a rollout-stages annotation, a Pod Security label).
  if (namespace && SYSTEM_NAMESPACES.has(namespace)) return false;
  return true;
}

/** The object as it goes into the file: what the server alone decides is left out. */
export function forBackup(r: Pick<ApiResource, 'status'>, obj: KubeObject): KubeObject {
  const metadata: KubeObject['metadata'] = { ...obj.metadata };
  for (const key of ['resourceVersion', 'selfLink', 'generation']) delete metadata[key];
  const copy: KubeObject = { ...obj, metadata };
  // A status subresource is the controllers' to write again (Cluster health, combined workload status).
  if (r.status) delete copy.status;
  return copy;
}

/** The object as a restore creates it: the UID (kept in the file to remap owners) and the creation time are the server's to give. */
export function forCreate(obj: KubeObject, ownerUids: Map<string, string>): KubeObject {
  const metadata: KubeObject['metadata'] = { ...obj.metadata };
  for (const key of ['uid', 'creationTimestamp']) delete metadata[key];
  const owners = metadata.ownerReferences as { uid: string }[] | undefined;
  if (owners) metadata.ownerReferences = owners.map((o) => ({ ...o, uid: ownerUids.get(o.uid) ?? o.uid }));
  return { ...obj, metadata };
}
