// Names and versions every part of the product agrees on. The image versions are exactly those the
// project's local control planes run (test/localcluster builds Kubernetes v1.37.2, whose etcd is
// 3.7.0), so the tests exercise what users deploy; a test checks that they still match.

export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = '3.7.0';
export const NODE_VERSION = '22.23.2';

export const APISERVER_IMAGE = `registry.k8s.io/kube-apiserver:${KUBERNETES_VERSION}`;
export const ETCD_IMAGE = `registry.k8s.io/etcd:${ETCD_VERSION}-0`;
/** The stock Node.js image runs our controller manager, whose code init ships in a ConfigMap. */
export const NODE_IMAGE = `docker.io/library/node:${NODE_VERSION}-slim`;

export const DEFAULT_FEDERATION_NAME = 'federation';
export const DEFAULT_NAMESPACE = 'federation-system';

/** The federation API: a group of the project's own, served by the federation API server. */
export const FEDERATION_GROUP = 'core.federation.kubectl-federation.io';
export const FEDERATION_VERSION = 'v1beta1';
export const FEDERATION_API_VERSION = `${FEDERATION_GROUP}/${FEDERATION_VERSION}`;

export const FIELD_MANAGER = 'kubectl-federation';
export const MANAGED_BY = 'kubectl-federation';
/** Labels every object init and join create with the federation they belong to. */
export const FEDERATION_LABEL = 'federation.kubectl-federation.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
/** On what join creates: which federation (by its API server's identity) and which member. */
export const FEDERATION_ID_LABEL = 'federation.kubectl-federation.io/id';
export const CLUSTER_LABEL = 'federation.kubectl-federation.io/cluster';

/** Name of the kubeconfig context extension in which init records where the federation lives. */
export const CONTEXT_EXTENSION = 'federation.kubectl-federation.io';

/** What init records in that extension, and join, unjoin (and the day-two commands) read: where the federation lives. */
export interface FederationContextExtension {
  hostContext: string;
  namespace: string;
  federation: string;
}

// Object names inside the federation namespace of the host cluster.
export const APISERVER_NAME = 'apiserver';
export const CONTROLLER_MANAGER_NAME = 'controller-manager';
export const CREDENTIALS_SECRET = 'apiserver-credentials';
export const CONTROLLER_MANAGER_KUBECONFIG_SECRET = 'controller-manager-kubeconfig';
export const CONTROLLER_MANAGER_CODE_CONFIGMAP = 'controller-manager-code';
export const ETCD_CLAIM = 'apiserver-etcd-claim';
/** init --ha: etcd's StatefulSet and its headless Service (members etcd-0.etcd.NAMESPACE.svc ...). */
export const ETCD_NAME = 'etcd';
/** External etcd's client certificate, key and CA (--etcd-certfile, --etcd-keyfile, --etcd-cafile). */
export const ETCD_CLIENT_SECRET = 'etcd-client-credentials';
export const APISERVER_CONTAINER_PORT = 8443;
