// What join creates: in the member, an identity for the federation (a ServiceAccount; a ClusterRole
// to read and to write cluster-scoped kinds; a ClusterRole of namespaced writes that the controller
// binds in each namespace it propagates into; a Role to renew its own token; and an admission policy
// that holds the line RBAC cannot draw); in the federation, the Secret holding the member's
// credentials (in the federation namespace, where only the controller manager and admins read it)
// and the Cluster.
import { BlockList, isIP } from 'node:net';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Namespace,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1ServiceAccount,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { CLUSTER_LABEL, FEDERATION_API_VERSION, FEDERATION_ID_LABEL, FEDERATION_LABEL, MANAGED_BY } from '../constants.ts';
import { PROPAGATED_BY_LABEL } from '../propagation/annotations.ts';
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
    /** The non-expiring token Secret of joins before expiring tokens: a re-join deletes it. */
    tokenSecret: `${base}-token`.slice(0, 253),
    clusterRole: `kubectl-federation:${n.federation}-${n.federationId}:${n.cluster}`,
    /** Namespaced writes, bound by a RoleBinding in each namespace the federation propagates into. */
    workloadRole: `kubectl-federation:${n.federation}-${n.federationId}:${n.cluster}:workloads`,
    /** The Role (and its binding) in the federation namespace that lets it renew its own token. */
    tokenRole: `kubectl-federation:${n.federation}-${n.federationId}:${n.cluster}:token`,
    /** The admission policy (and its binding) that keeps the identity inside its bounds. */
    guard: `${base}-guard`.slice(0, 253),
    /** The credentials Secret in the federation's namespace of the federation API server. */
    credentialsSecret: `member-${n.cluster}`,
    /** Pull mode: the agent's Deployment, its code, and its federation kubeconfig (the one Secret of the protected namespace it may replace: a renewed token). */
    agent: `${base}-agent`,
    agentCode: `${base}-agent-code`,
    agentKubeconfig: `${base}-agent-kubeconfig`,
    agentKubeconfigRole: `kubectl-federation:${n.federation}-${n.federationId}:${n.cluster}:agent-kubeconfig`,
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

/** What the controller manager does with the kinds it propagates in a member. */
export const PROPAGATION_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];

/** The member's namespaces the federation never writes in: the cluster's own, and its own credentials'. */
export function protectedNamespaces(n: MemberNames): string[] {
  return ['kube-system', 'kube-public', 'kube-node-lease', n.namespace];
}

type Resource = { group: string; plural: string; namespaced: boolean };
const isSecrets = (r: { group: string; plural: string }) => r.group === '' && r.plural === 'secrets';

function rulesByGroup(resources: { group: string; plural: string }[], verbs: string[]) {
  const byGroup = new Map<string, Set<string>>();
  for (const r of resources) byGroup.set(r.group, (byGroup.get(r.group) ?? new Set()).add(r.plural));
  return [...byGroup].sort(([a], [b]) => (a < b ? -1 : 1)).map(([group, plurals]) => ({ apiGroups: [group], resources: [...plurals].sort(), verbs }));
}

/**
 * Bound cluster-wide: the health probes (/readyz, /livez, /healthz, and the nodes' zones); reading
 * every propagated kind but Secrets (the watches that see copies change); writing the cluster-scoped
 * kinds listed at join (namespaces always: it creates those its objects need); and making the one
 * RoleBinding per namespace that gives it the namespaced writes (bind: that role only). No wildcards:
 * a wider --propagated-kinds is a new join.
 */
export function memberClusterRole(n: MemberNames, propagated: Resource[]): Typed<V1ClusterRole> {
  const names = memberObjectNames(n);
  const clusterScoped = [{ group: '', plural: 'namespaces' }, ...propagated.filter((r) => !r.namespaced && !(r.group === '' && r.plural === 'namespaces'))];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: names.clusterRole, labels: memberLabels(n) },
    rules: [
      { nonResourceURLs: ['/readyz', '/livez', '/healthz'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
      ...rulesByGroup(clusterScoped, PROPAGATION_VERBS),
      ...rulesByGroup(propagated.filter((r) => r.namespaced && !isSecrets(r)), READ),
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: [names.workloadRole] },
    ],
  };
}

/** Writing the namespaced propagated kinds; Secrets written, never read. Bound per namespace. */
export function memberWorkloadRole(n: MemberNames, propagated: Resource[]): Typed<V1ClusterRole> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: memberObjectNames(n).workloadRole, labels: memberLabels(n) },
    rules: rulesByGroup(propagated.filter((r) => r.namespaced), WRITE),
  };
}

const subject = (n: MemberNames) => ({ kind: 'ServiceAccount', name: memberObjectNames(n).serviceAccount, namespace: n.namespace });

/** A binding of the member identity: cluster-wide (namespace undefined) or in one namespace. */
function binding<K extends 'ClusterRoleBinding' | 'RoleBinding'>(n: MemberNames, kind: K, name: string, role: { kind: 'ClusterRole' | 'Role'; name: string }, namespace?: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1' as const,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), labels: memberLabels(n) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...role },
    subjects: [subject(n)],
  };
}

export function memberClusterRoleBinding(n: MemberNames): Typed<V1ClusterRoleBinding> {
  const { clusterRole } = memberObjectNames(n);
  return binding(n, 'ClusterRoleBinding', clusterRole, { kind: 'ClusterRole', name: clusterRole });
}

/** The namespaced writes in one namespace of the member: made by the controller manager when it first writes there. */
export function memberWorkloadBinding(n: MemberNames, namespace: string): Typed<V1RoleBinding> {
  const { workloadRole } = memberObjectNames(n);
  return binding(n, 'RoleBinding', workloadRole, { kind: 'ClusterRole', name: workloadRole }, namespace);
}

/** Asking for a new token of its own service account, and of no other: the controller renews it. */
export function memberTokenRole(n: MemberNames): Typed<V1Role> {
  const names = memberObjectNames(n);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: names.tokenRole, namespace: n.namespace, labels: memberLabels(n) },
    rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [names.serviceAccount] }],
  };
}

export function memberTokenRoleBinding(n: MemberNames): Typed<V1RoleBinding> {
  const { tokenRole } = memberObjectNames(n);
  return binding(n, 'RoleBinding', tokenRole, { kind: 'Role', name: tokenRole }, n.namespace);
}

/** A CEL list literal of strings. */
const celList = (items: string[]) => `[${items.map((i) => `'${i}'`).join(', ')}]`;

/**
 * What RBAC cannot say, said by an admission policy on the identity's own requests: no write in the
 * member's protected namespaces (the RoleBinding it may create could otherwise land in kube-system);
 * Namespaces and Secrets changed or deleted only when they are this federation's copies (it may
 * not read Secrets, and must not overwrite one it did not make); no service-account-token Secret;
 * its workload role bound to itself only.
 */
export function memberGuardPolicy(n: MemberNames): Typed<V1ValidatingAdmissionPolicy> {
  const names = memberObjectNames(n);
  const ours = `oldObject != null && has(oldObject.metadata.labels) && '${PROPAGATED_BY_LABEL}' in oldObject.metadata.labels && oldObject.metadata.labels['${PROPAGATED_BY_LABEL}'] == '${n.federationId}'`;
  const who = `the identity of federation ${n.federation} in this cluster`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: names.guard, labels: memberLabels(n) },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'] }] },
      matchConditions: [{ name: 'federation-identity', expression: `request.userInfo.username == 'system:serviceaccount:${n.namespace}:${names.serviceAccount}'` }],
      variables: [
        { name: 'ours', expression: ours },
        { name: 'ownKubeconfig', expression: `request.operation == 'UPDATE' && request.resource.resource == 'secrets' && request.namespace == '${n.namespace}' && request.name == '${names.agentKubeconfig}'` },
      ],
      validations: [
        {
          // A cluster-scoped request has no namespace at all (not even an empty one). The one
          // exception: a pull agent replacing its own kubeconfig (a renewed federation token).
          expression: `!has(request.namespace) || !(request.namespace in ${celList(protectedNamespaces(n))}) || variables.ownKubeconfig`,
          messageExpression: `"${who} writes nothing in namespace " + request.namespace`,
        },
        {
          expression: `request.resource.resource != 'namespaces' || (!(request.name in ${celList(protectedNamespaces(n))}) && (request.operation == 'CREATE' || variables.ours))`,
          messageExpression: `"${who} changes or deletes only the namespaces it created: " + request.name + " is not one"`,
        },
        {
          expression: `request.resource.resource != 'secrets' || variables.ownKubeconfig || (request.operation == 'CREATE' ? !has(object.type) || object.type != 'kubernetes.io/service-account-token' : variables.ours)`,
          messageExpression: `request.operation == 'CREATE' ? "${who} makes no service-account-token Secrets" : "${who} changes or deletes only the Secrets it created: " + request.namespace + "/" + request.name + " is not one"`,
        },
        {
          expression: `request.resource.resource != 'rolebindings' || object == null || object.roleRef.name != '${names.workloadRole}' || (size(object.subjects) == 1 && object.subjects[0].kind == 'ServiceAccount' && object.subjects[0].name == '${names.serviceAccount}' && object.subjects[0].namespace == '${n.namespace}')`,
          message: `${who} binds its workload role to itself only`,
        },
      ],
    },
  };
}

export function memberGuardBinding(n: MemberNames): Typed<V1ValidatingAdmissionPolicyBinding> {
  const names = memberObjectNames(n);
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: names.guard, labels: memberLabels(n) },
    spec: { policyName: names.guard, validationActions: ['Deny'] },
  };
}

/** The admission policy's refusal, told apart from RBAC's: the API server names the policy. */
export function refusedByGuard(message: string): boolean {
  return /ValidatingAdmissionPolicy '[^']*-guard'/.test(message);
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
