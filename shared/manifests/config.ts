// What `init` was asked to do, validated: every step and every builder of init's objects reads this
// and nothing else of the flags. It lives beside the builders, below init, so they need not look up.

export type ServiceType = 'LoadBalancer' | 'NodePort';
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

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
  tokenAuth: boolean;
  etcd: { persistentStorage: boolean; capacity: string; storageClass?: string; servers?: string[] };
  images: { apiserver: string; etcd: string; controllerManager?: string; pullPolicy: PullPolicy; pullSecrets: string[] };
  nodeSelector: Record<string, string>;
  apiserverArgOverrides: Record<string, string>;
  controllerManagerArgOverrides: Record<string, string>;
  waitTimeoutMs: number;
  /** Validity of the leaf certificates init issues (kubeadm's default: a year). */
  certValidityMs: number;
  switchContext: boolean;
  join: boolean;
}
