// What join creates: in the member, an identity for the federation (ServiceAccount, ClusterRole,
// ClusterRoleBinding, token Secret); in the federation, the Secret holding the member's credentials
// (in the federation namespace, where only the controller manager and admins read it) and the Cluster.
import { BlockList, isIP } from 'node:net';
import type { V1ClusterRole, V1ClusterRoleBinding, V1Namespace, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { CLUSTER_LABEL, FEDERATION_API_VERSION, FEDERATION_ID_LABEL, FEDERATION_LABEL, MANAGED_BY } from '../constants.ts';
import type { Cluster } from './federation-api.ts';
import { federationLabels } from './meta.ts';
import type { Typed } from './types.ts';

export interface MemberNames {
  federation: string;
  /** Short, stable identity of the federation API server: two federations of one name differ. */
  federationId: string;
  cluster: string;
  /** The federation namespace (in the host and the federation; the same name holds the identity in the member). */
  namespace: string;
}

/** Names of the member-side objects: readable, and unique per federation and cluster. */
export function memberObjectNames(n: MemberNames) {
  const base = `${n.federation}-${n.federationId}-${n.cluster}`.slice(0, 63).replace(/-+$/, '');
  return {
    serviceAccount: base,
    tokenSecret: `${base}-token`.slice(0, 253),
    clusterRole: `kubectl-federation:${n.federation}-${n.federationId}:${n.cluster}`,
    /** The credentials Secret in the federation's namespace of the federation API server. */
    credentialsSecret: `member-${n.cluster}`,
  };
}

/** Labels that say which federation and member an object belongs to: unjoin deletes by them. */
export function memberLabels(n: MemberNames): Record<string, string> {
  return { ...federationLabels(n.federation), [FEDERATION_ID_LABEL]: n.federationId, [CLUSTER_LABEL]: n.cluster };
}

export function memberSelector(n: MemberNames): string {
  return `app.kubernetes.io/managed-by=${MANAGED_BY},${FEDERATION_LABEL}=${n.federation},${FEDERATION_ID_LABEL}=${n.federationId},${CLUSTER_LABEL}=${n.cluster}`;
}

export function memberNamespace(n: MemberNames): Typed<V1Namespace> {
  // Shared by every federation that joins this member: labelled as ours, never deleted by unjoin.
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } } };
}

export function memberServiceAccount(n: MemberNames): Typed<V1ServiceAccount> {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: memberObjectNames(n).serviceAccount, namespace: n.namespace, labels: memberLabels(n) },
  };
}

/** What the controller manager does with each propagated kind in a member. */
export const PROPAGATION_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/**
 * Exactly what the controller manager needs: its health probes (/readyz, /livez, /healthz, and the
 * nodes' zones), and the propagated kinds (namespaces always: it creates those its objects need).
 * No wildcards: a wider --propagated-kinds is a new join.
 */
export function memberClusterRole(n: MemberNames, propagated: { group: string; plural: string }[]): Typed<V1ClusterRole> {
  const byGroup = new Map<string, Set<string>>([['', new Set(['namespaces'])]]);
  for (const r of propagated) byGroup.set(r.group, (byGroup.get(r.group) ?? new Set()).add(r.plural));
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: memberObjectNames(n).clusterRole, labels: memberLabels(n) },
    rules: [
      { nonResourceURLs: ['/readyz', '/livez', '/healthz'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
      ...[...byGroup].map(([group, plurals]) => ({ apiGroups: [group], resources: [...plurals].sort(), verbs: PROPAGATION_VERBS })),
    ],
  };
}

export function memberClusterRoleBinding(n: MemberNames): Typed<V1ClusterRoleBinding> {
  const names = memberObjectNames(n);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: names.clusterRole, labels: memberLabels(n) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: names.clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace: n.namespace }],
  };
}

/** A long-lived token: Kubernetes 1.24+ makes one only when asked with such a Secret. */
export function memberTokenSecret(n: MemberNames): Typed<V1Secret> {
  const names = memberObjectNames(n);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: names.tokenSecret,
      namespace: n.namespace,
      labels: memberLabels(n),
      annotations: { 'kubernetes.io/service-account.name': names.serviceAccount },
    },
    type: 'kubernetes.io/service-account-token',
  };
}

export function credentialsSecretInFederation(n: MemberNames, data: Record<string, string>): Typed<V1Secret> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: memberObjectNames(n).credentialsSecret, namespace: n.namespace, labels: memberLabels(n) },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export function clusterObject(n: MemberNames, server: string, labels: Record<string, string> = {}): Cluster & Typed<object> {
  return {
    apiVersion: FEDERATION_API_VERSION,
    kind: 'Cluster',
    // The user's labels (placement selects by them) and ours, which say who made it.
    metadata: { name: n.cluster, labels: { ...labels, ...memberLabels(n) } },
    spec: {
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: server }],
      secretRef: { name: memberObjectNames(n).credentialsSecret },
    },
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addSubnet('169.254.0.0', 16, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('fe80::', 10, 'ipv6');

/**
 * Whether a server URL names this machine only (loopback, localhost) or a link-local address: what
 * kind's and minikube's kubeconfigs hold, and what no pod of another cluster can reach.
 */
export function isLoopbackServer(server: string): boolean {
  let host: string;
  try {
    host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** The member's server as a URL: https:// added when the kubeconfig has none. */
export function serverURL(server: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `https://${server}`;
}
