// Names both sides of a pull-mode member agree on: the federation namespace where the controller
// manager leaves a member's rendered copies and its agent reports back, and the bootstrap group a
// join token carries. One namespace per member: RBAC grants its agent that namespace and no other.

/** The federation namespace of one pull member: its copies, its reports, its heartbeat, its identity. */
export const pullNamespace = (cluster: string): string => `federation-member-${cluster}`.slice(0, 63).replace(/-+$/, '');

/** The agent's ServiceAccount (in the pull namespace, in the federation) and its heartbeat Lease. */
export const AGENT_ACCOUNT = 'agent';
export const AGENT_LEASE = 'agent';
/** On the Lease: what the agent's own API server answered at its last renewal ("true"/"false", and why). */
export const AGENT_READY_ANNOTATION = 'federation.kubectl-federation.io/member-ready';
export const AGENT_MESSAGE_ANNOTATION = 'federation.kubectl-federation.io/member-message';
/** On the Lease: the agent's release and the digest of the code it runs (the controller manager compares its own). */
export const AGENT_VERSION_ANNOTATION = 'federation.kubectl-federation.io/agent-version';
export const AGENT_CODE_ANNOTATION = 'federation.kubectl-federation.io/agent-code';

/** On every carrier Secret and report ConfigMap: what the agent lists, and what the controller watches. */
export const CARRIER_LABEL = 'federation.kubectl-federation.io/carrier';
export const REPORT_LABEL = 'federation.kubectl-federation.io/report';
/** On carriers and reports: the federation object's queue key ("Deployment.apps/ns/name"), base64url (keys hold slashes). */
export const OBJECT_ANNOTATION = 'federation.kubectl-federation.io/object';

/** The Secret type of a carrier: one rendered copy, kept as a Secret because some copies are Secrets. */
export const CARRIER_TYPE = 'federation.kubectl-federation.io/rendered-copy';

/**
 * The group a join token for cluster NAME adds its bearer to (bootstrap tokens' auth-extra-groups
 * must start with system:bootstrappers:): RBAC lets that group ask for the agent's token of NAME's
 * namespace only, so a token joins the one cluster it was made for.
 */
export const bootstrapGroup = (cluster: string): string => `system:bootstrappers:kubectl-federation:${cluster}`;

/** Where the federation publishes its CA for joins (as kubeadm does): readable without credentials. */
export const CLUSTER_INFO = { namespace: 'kube-public', name: 'cluster-info' } as const;
