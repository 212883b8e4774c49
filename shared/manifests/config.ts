// What `init` was asked to do, validated: every step and every builder of init's objects reads this
// and nothing else of the flags. It lives beside the builders, below init, so they need not look up.

import type { EncryptionAlgorithm } from '../pki.ts';

export type ServiceType = 'LoadBalancer' | 'NodePort';
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** A container's resources: "cpu", "memory", "ephemeral-storage" to quantities. */
export interface ContainerResources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

/** External etcd's TLS material, as read from the files --etcd-cafile/-certfile/-keyfile name. */
export interface EtcdTLS {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface InitConfig {
  /** The federation's name: kubeconfig cluster, user and context, and the CA's common name. */
  name: string;
  namespace: string;
  /** The kubeconfig context of the host cluster. */
  hostContext: string;
  serviceType: ServiceType;
  /** NodePort only: the node port to ask for (undefined: the cluster picks one). */
  nodePort?: number;
  /** NodePort only: the address clients use; else a node's ExternalIP, then InternalIP. */
  advertiseAddress?: string;
  extraSans: string[];
  /** LoadBalancer only: the Service's annotations (internal load balancers) and allowed client CIDRs. */
  serviceAnnotations: Record<string, string>;
  loadBalancerSourceRanges: string[];
  tokenAuth: boolean;
  /**
   * init --ha: etcd as a StatefulSet of three members (unless --etcd-servers), `apiserverReplicas`
   * API servers, two controller managers, a PodDisruptionBudget each.
   */
  ha: boolean;
  /** API server replicas: 1 unless --ha (default 2 then, --apiserver-replicas). */
  apiserverReplicas: number;
  etcd: {
    persistentStorage: boolean;
    capacity: string;
    storageClass?: string;
    servers?: string[];
    /** File paths of --etcd-cafile/-certfile/-keyfile; their contents go into `tls` before the steps run. */
    tlsFiles?: { ca?: string; cert?: string; key?: string };
    tls?: EtcdTLS;
  };
  images: {
    apiserver: string;
    etcd: string;
    /** The stock Node.js image that runs the shipped controller manager code (mirrorable). */
    node: string;
    /** A prebuilt controller manager image, with its own entrypoint, instead of node + ConfigMap. */
    controllerManager?: string;
    pullPolicy: PullPolicy;
    pullSecrets: string[];
  };
  resources: { apiserver: ContainerResources; etcd: ContainerResources; controllerManager: ContainerResources };
  /** Always holds kubernetes.io/os=linux unless the user chose another os. */
  nodeSelector: Record<string, string>;
  apiserverArgOverrides: Record<string, string>;
  controllerManagerArgOverrides: Record<string, string>;
  waitTimeoutMs: number;
  /** Validity of the leaf certificates init issues (kubeadm's default: a year). */
  certValidityMs: number;
  /** The type of the keys init makes (kubeadm's encryptionAlgorithm); keys that exist are kept. */
  encryptionAlgorithm: EncryptionAlgorithm;
  switchContext: boolean;
  join: boolean;
  /**
   * init --restore-from: the backup's digest while its restore is under way. The Service carries
   * it (so a re-run knows the half-restored federation as this backup's), and the controller
   * manager stays at 0 replicas until every object is back under the backed-up identity.
   */
  restoring?: string;
}

/** The annotation on the API server's Service while a restore is under way: the backup's digest. */
export const RESTORING_ANNOTATION = 'federation.kubectl-federation.io/restoring';
