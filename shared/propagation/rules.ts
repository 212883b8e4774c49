// Kind rules of propagation, apart from the controller that applies them: which objects are never
// propagated (and whether that is worth telling the user), when a member's copy counts as healthy,
// and which workload a HorizontalPodAutoscaler scales. Pure functions: tested without a server.
import { MANAGED_BY } from '../constants.ts';
import { type FederatedObject, hasReplicas } from './copy.ts';
import { HISTORY_LABEL } from './revisions.ts';
import { observed } from './status.ts';

const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

export interface Exclusion {
  /** Why the object stays in the federation, in words a user reads on the object. */
  reason: string;
  /**
   * Said to the user (an Event and a Propagation record) only when the user could have meant it to
   * propagate; objects the API server or the federation make for themselves are skipped quietly.
   */
  tell: boolean;
}

type Meta = FederatedObject['metadata'] & { ownerReferences?: { controller?: boolean; kind?: string; name?: string }[] };

/** Why an object is never propagated, or undefined when it is. */
export function exclusion(kind: string, obj: FederatedObject, ownNamespace?: string): Exclusion | undefined {
  const { name, namespace, labels, ownerReferences } = obj.metadata as Meta;
  const quiet = (reason: string): Exclusion => ({ reason, tell: false });
  if (labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults') return quiet('a default role of every cluster');
  if (namespace && SYSTEM_NAMESPACES.has(namespace)) {
    return { reason: `objects in ${namespace} are never propagated: the members' own ${namespace} belongs to them; create it in a namespace of your own`, tell: true };
  }
  if (namespace && namespace === ownNamespace) return quiet('the federation namespace holds the members\' credentials');
  if (kind === 'Namespace' && (SYSTEM_NAMESPACES.has(name) || name === 'default' || name === ownNamespace)) return quiet('a namespace every cluster has of its own');
  if (labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY) return quiet("the federation's own object");
  if ((kind === 'ClusterRole' || kind === 'ClusterRoleBinding') && name.startsWith('system:')) {
    return { reason: `${kind}s named system:* belong to each cluster's own components and are never propagated; choose a name without the system: prefix`, tell: true };
  }
  if (kind === 'ServiceAccount' && name === 'default') return quiet('every namespace has its own default ServiceAccount');
  if (kind === 'ConfigMap' && name === 'kube-root-ca.crt') return quiet("each cluster publishes its own CA");
  if (kind === 'Service' && namespace === 'default' && name === 'kubernetes') return quiet("each cluster's own API server Service");
  if (kind === 'Secret' && (obj as { type?: string }).type === 'kubernetes.io/service-account-token') {
    return {
      reason: "a service-account-token Secret holds a token of the federation's API server, which no member accepts; each member makes its own (create the Secret in the member, or let the ServiceAccount's pods get projected tokens)",
      tell: true,
    };
  }
  if (labels?.[HISTORY_LABEL]) return quiet(`the revision history of ${labels[HISTORY_LABEL]}, kept in the federation for kubectl rollout history and undo`);
  const owner = (ownerReferences ?? []).find((o) => o.controller);
  if (owner) {
    return {
      reason: `it has a controller owner (${owner.kind ?? 'object'} ${owner.name ?? ''}): the owner is propagated and each member's controller makes its own; remove the ownerReference to propagate it by itself`,
      tell: true,
    };
  }
  return undefined;
}

export interface CopyHealth {
  applied: boolean;
  healthy: boolean;
  generation?: number;
  observedGeneration?: number;
}

/** Applied and healthy, as the record shows them: workloads are healthy once available. */
export function copyHealth(copy: FederatedObject, applied: boolean): CopyHealth {
  const status = copy.status as { observedGeneration?: number; conditions?: { type: string; status: string }[]; readyReplicas?: number; numberUnavailable?: number } | undefined;
  const generation = copy.metadata.generation;
  const observedGeneration = status?.observedGeneration;
  let healthy = applied;
  const seen = observed({ cluster: '', object: copy, current: true });
  if (hasReplicas(copy.kind)) {
    const want = (copy.spec?.replicas as number | undefined) ?? 1;
    healthy = seen && (status?.readyReplicas ?? 0) >= want;
  } else if (copy.kind === 'DaemonSet') {
    healthy = seen && (status?.numberUnavailable ?? 0) === 0;
  } else if (copy.kind === 'Job') {
    healthy = !status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True');
  }
  return {
    applied,
    healthy,
    ...(generation !== undefined ? { generation } : {}),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
}

export const isAutoscaler = (kind: string): boolean => kind === 'HorizontalPodAutoscaler';

/** The workload (kind and name) an HPA scales, if it names one. */
export function scaleTarget(hpa: FederatedObject): { kind: string; name: string } | undefined {
  const ref = (hpa.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
  return ref?.kind && ref.name ? { kind: ref.kind, name: ref.name } : undefined;
}

/** The HPA scales this workload: the members' HPAs own its replicas, the federation leaves them out. */
export function scales(hpa: FederatedObject, workload: FederatedObject): boolean {
  const target = scaleTarget(hpa);
  return hpa.metadata.namespace === workload.metadata.namespace && target?.kind === workload.kind && target.name === workload.metadata.name;
}
