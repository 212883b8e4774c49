// A pull-mode member's objects, as typed values. In the federation (token create makes them): the
// member's own namespace, where the controller manager leaves its rendered copies and its agent
// reports back; the agent's ServiceAccount there and a Role over that namespace alone; the right of
// the join token's group to ask for that account's token, and nothing else; the Cluster. In the
// member (join --pull applies them): the agent, run by the stock Node.js image from a ConfigMap as
// the controller manager is, as the same bounded identity a push join creates for the federation.
import type { V1ConfigMap, V1Deployment, V1Namespace, V1Role, V1RoleBinding, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { FEDERATION_API_VERSION, NODE_IMAGE } from '../constants.ts';
import { AGENT_ACCOUNT, AGENT_LEASE, bootstrapGroup, CLUSTER_INFO, pullNamespace } from '../pull/names.ts';
import { CODE_DIR, CONTROLLER_ENV, CONTROLLER_NODE_FLAGS, type ShippedCode, shippedCode } from './controller-manager.ts';
import type { Cluster } from './federation-api.ts';
import { type MemberNames, memberLabels, memberObjectNames } from './member.ts';
import { CONTROLLER_MANAGER_POD_USER, POD_SECURITY_LABELS, resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, SECRET_FILE_MODE } from './pod-security.ts';
import type { Typed } from './types.ts';

const RBAC = 'rbac.authorization.k8s.io/v1';

// ---- In the federation ----

export function pullNamespaceObject(n: MemberNames): Typed<V1Namespace> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: pullNamespace(n.cluster), labels: memberLabels(n) } };
}

export function agentAccount(n: MemberNames): Typed<V1ServiceAccount> {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: AGENT_ACCOUNT, namespace: pullNamespace(n.cluster), labels: memberLabels(n) } };
}

/**
 * The agent's rights in the federation, in its own namespace only: read the copies placed on its
 * cluster (Secrets: some copies are Secrets), write its reports (ConfigMaps) and its heartbeat
 * (the Lease), and renew its own token. Another member's namespace is not in reach.
 */
export function agentRole(n: MemberNames): Typed<V1Role> {
  return {
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: 'kubectl-federation:agent', namespace: pullNamespace(n.cluster), labels: memberLabels(n) },
    rules: [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update', 'patch'], resourceNames: [AGENT_LEASE] },
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [AGENT_ACCOUNT] },
    ],
  };
}

export function agentRoleBinding(n: MemberNames): Typed<V1RoleBinding> {
  const namespace = pullNamespace(n.cluster);
  return {
    apiVersion: RBAC,
    kind: 'RoleBinding',
    metadata: { name: 'kubectl-federation:agent', namespace, labels: memberLabels(n) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kubectl-federation:agent' },
    subjects: [{ kind: 'ServiceAccount', name: AGENT_ACCOUNT, namespace }],
  };
}

/** What a join token for this cluster may do: ask for the agent's token, once or again, and nothing else. */
export function bootstrapRole(n: MemberNames): Typed<V1Role> {
  return {
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: 'kubectl-federation:join', namespace: pullNamespace(n.cluster), labels: memberLabels(n) },
    rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [AGENT_ACCOUNT] }],
  };
}

export function bootstrapRoleBinding(n: MemberNames): Typed<V1RoleBinding> {
  return {
    apiVersion: RBAC,
    kind: 'RoleBinding',
    metadata: { name: 'kubectl-federation:join', namespace: pullNamespace(n.cluster), labels: memberLabels(n) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kubectl-federation:join' },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: bootstrapGroup(n.cluster) }],
  };
}

/** A pull member's Cluster: no address and no credentials (the federation never calls it); its agent reports. */
export function pullClusterObject(n: MemberNames, labels: Record<string, string> = {}): Cluster & Typed<object> {
  return { apiVersion: FEDERATION_API_VERSION, kind: 'Cluster', metadata: { name: n.cluster, labels: { ...labels, ...memberLabels(n) } }, spec: { mode: 'Pull' } };
}

/** The federation's CA, public as kubeadm publishes it: a join checks it against the hash it was given before it sends its token. */
export function clusterInfo(federation: string, ca: string, federationId: string): Typed<V1ConfigMap> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CLUSTER_INFO.name, namespace: CLUSTER_INFO.namespace, labels: { 'app.kubernetes.io/managed-by': 'kubectl-federation', 'federation.kubectl-federation.io/name': federation } },
    data: { [CLUSTER_INFO_KEYS.ca]: ca, [CLUSTER_INFO_KEYS.federation]: federation, [CLUSTER_INFO_KEYS.federationId]: federationId },
  };
}

export const CLUSTER_INFO_KEYS = { ca: 'ca.crt', federation: 'federation', federationId: 'federation-id' } as const;

export function clusterInfoRole(): Typed<V1Role> {
  return {
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: 'kubectl-federation:cluster-info', namespace: CLUSTER_INFO.namespace },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: [CLUSTER_INFO.name] }],
  };
}

export function clusterInfoRoleBinding(): Typed<V1RoleBinding> {
  return {
    apiVersion: RBAC,
    kind: 'RoleBinding',
    metadata: { name: 'kubectl-federation:cluster-info', namespace: CLUSTER_INFO.namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kubectl-federation:cluster-info' },
    subjects: [
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:anonymous' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:unauthenticated' },
    ],
  };
}

// ---- In the member ----

export interface AgentConfig {
  names: MemberNames;
  /** The federation API server as the member's pods reach it. */
  server: string;
  image: string;
  pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
}

export const AGENT_KUBECONFIG_KEY = 'kubeconfig';
export const AGENT_HEALTHZ_PORT = 8080;
const AGENT_KUBECONFIG_DIR = '/etc/federation/agent';

export const agentObjectNames = (n: MemberNames) => {
  const names = memberObjectNames(n);
  return { deployment: names.agent, code: names.agentCode, kubeconfig: names.agentKubeconfig, tokenRole: names.agentKubeconfigRole };
};

export const defaultAgentImage = NODE_IMAGE;

/** The agent's credentials for the federation: its server, the CA join checked, its token (renewed in place by the agent). */
export function agentKubeconfigSecret(n: MemberNames, kubeconfig: string): Typed<V1Secret> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: agentObjectNames(n).kubeconfig, namespace: n.namespace, labels: memberLabels(n) },
    data: { [AGENT_KUBECONFIG_KEY]: Buffer.from(kubeconfig).toString('base64') },
  };
}

/** The agent may replace its own kubeconfig Secret (a renewed token), and no other Secret of the member. */
export function agentKubeconfigRole(n: MemberNames): Typed<V1Role> {
  return {
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: agentObjectNames(n).tokenRole, namespace: n.namespace, labels: memberLabels(n) },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'patch'], resourceNames: [agentObjectNames(n).kubeconfig] }],
  };
}

export function agentKubeconfigRoleBinding(n: MemberNames): Typed<V1RoleBinding> {
  const { tokenRole } = agentObjectNames(n);
  return {
    apiVersion: RBAC,
    kind: 'RoleBinding',
    metadata: { name: tokenRole, namespace: n.namespace, labels: memberLabels(n) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: tokenRole },
    subjects: [{ kind: 'ServiceAccount', name: memberObjectNames(n).serviceAccount, namespace: n.namespace }],
  };
}

export function agentCode(n: MemberNames, bundle: Buffer): ShippedCode {
  return shippedCode({ name: agentObjectNames(n).code, namespace: n.namespace, labels: memberLabels(n) }, bundle);
}

export function agentArgs(c: AgentConfig): string[] {
  return [
    'agent',
    `--kubeconfig=${AGENT_KUBECONFIG_DIR}/${AGENT_KUBECONFIG_KEY}`,
    `--kubeconfig-secret=${agentObjectNames(c.names).kubeconfig}`,
    `--cluster=${c.names.cluster}`,
    `--federation-name=${c.names.federation}`,
    `--federation-id=${c.names.federationId}`,
    `--healthz-port=${AGENT_HEALTHZ_PORT}`,
  ];
}

/**
 * The agent: one replica (a second would apply the same copies twice), the member identity's
 * service account (its token projected and rotated by the kubelet), Pod Security restricted.
 */
export function agentDeployment(c: AgentConfig, code: ShippedCode, kubeconfigDigest: string): Typed<V1Deployment> {
  const n = c.names;
  const names = agentObjectNames(n);
  const labels = { ...memberLabels(n), 'app.kubernetes.io/component': 'agent' };
  const selector = { 'federation.kubectl-federation.io/cluster': n.cluster, 'federation.kubectl-federation.io/id': n.federationId, 'app.kubernetes.io/component': 'agent' };
  const probe = { httpGet: { path: '/healthz', port: AGENT_HEALTHZ_PORT }, periodSeconds: 5, timeoutSeconds: 5 };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: names.deployment, namespace: n.namespace, labels },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels, annotations: { 'federation.kubectl-federation.io/code-digest': code.digest, 'federation.kubectl-federation.io/kubeconfig-digest': kubeconfigDigest } },
        spec: {
          serviceAccountName: memberObjectNames(n).serviceAccount,
          securityContext: restrictedPodSecurity(CONTROLLER_MANAGER_POD_USER),
          containers: [
            {
              name: 'agent',
              image: c.image,
              imagePullPolicy: c.pullPolicy,
              command: code.command,
              args: agentArgs(c),
              env: [
                ...Object.entries(CONTROLLER_ENV).map(([name, value]) => ({ name, value })),
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ],
              ports: [{ name: 'healthz', containerPort: AGENT_HEALTHZ_PORT, protocol: 'TCP' }],
              terminationMessagePolicy: 'FallbackToLogsOnError',
              readinessProbe: probe,
              livenessProbe: { ...probe, initialDelaySeconds: 10, failureThreshold: 6 },
              resources: resourceRequirements({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } }),
              securityContext: restrictedContainerSecurity([], true),
              volumeMounts: [
                { name: 'kubeconfig', mountPath: AGENT_KUBECONFIG_DIR, readOnly: true },
                { name: 'code', mountPath: CODE_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'kubeconfig', secret: { secretName: names.kubeconfig, defaultMode: SECRET_FILE_MODE } },
            { name: 'code', configMap: { name: names.code } },
          ],
        },
      },
    },
  };
}

/** The member namespace the agent runs in gets Pod Security restricted when join creates it. */
export const AGENT_NAMESPACE_LABELS = POD_SECURITY_LABELS;
export { CONTROLLER_NODE_FLAGS };
