// `kubectl federation init`: its flags and help; run.ts (loaded when it runs) checks them and runs
// the steps of init.ts.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../cli/command.ts';

export class InitCommand extends KubeCommand {
  static override paths = [['init']];
  static override usage = Command.Usage({
    description: 'Deploy a federation control plane onto an existing cluster',
    details: `
      Creates, in the host cluster (the current context unless --host-cluster-context is given): the
      namespace federation-system, a Service exposing the federation API server, a new CA with
      certificates and credentials, a kubeconfig Secret for the controller manager, a claim for etcd's
      data, the API server Deployment (etcd + kube-apiserver) and the controller manager Deployment.
      Waits until the new API server answers, installs the Cluster resource into it, adds a context
      NAME (default "federation") to your kubeconfig and switches to it.

      With --ha: etcd as a StatefulSet of three members (a volume each, TLS with etcd's own CA), two
      or more API servers and two controller managers, spread over the host's nodes, with a
      PodDisruptionBudget each. An existing single-replica federation is not turned into an HA one
      in place: back it up, deinit it, and init --ha --restore-from the backup (init says how).

      Safe to run again: what exists is reused (credentials too), what is missing is created.
    `,
    examples: [
      ['Deploy federation "federation" onto the current context', 'kubectl federation init'],
      ['Deploy "myfed" onto context "host"', 'kubectl federation init myfed --host-cluster-context=host'],
      [
        'Without a load balancer: a NodePort on a known node address',
        'kubectl federation init --api-server-service-type=NodePort --api-server-advertise-address=10.0.0.5',
      ],
      ['Show every object init would create, creating nothing', 'kubectl federation init --dry-run -o yaml'],
      ['Air-gapped: every image from a mirror', 'kubectl federation init --image-registry=registry.example.com/k8s'],
      ['An internal load balancer on GKE', 'kubectl federation init --api-server-service-annotations=networking.gke.io/load-balancer-type=Internal'],
      ['A highly available control plane: 3 etcd members, 3 API servers', 'kubectl federation init --ha --apiserver-replicas=3'],
      ['Bring a federation back from its backup (onto a fresh namespace, any host)', 'kubectl federation init myfed --restore-from myfed-backup.json.gz'],
    ],
  });

  name = Option.String({ required: false, name: 'NAME' });
  hostContext = Option.String('--host-cluster-context', { description: 'Kubeconfig context of the host cluster (default: the current context)' });
  namespace = Option.String('--federation-system-namespace', 'federation-system', { description: 'Namespace of the federation components' });
  serviceType = Option.String('--api-server-service-type', 'LoadBalancer', { description: 'LoadBalancer or NodePort' });
  apiServerPort = Option.String('--api-server-port', { description: 'NodePort only: the node port to use' });
  advertiseAddress = Option.String('--api-server-advertise-address', { description: 'NodePort only: the IP clients use' });
  extraSans = Option.Array('--apiserver-cert-extra-sans', { description: 'More names or IPs for the API server certificate' });
  serviceAnnotations = Option.Array('--api-server-service-annotations', {
    description: 'LoadBalancer only: k=v,... annotations of the Service (e.g. an internal load balancer: networking.gke.io/load-balancer-type=Internal)',
  });
  loadBalancerSourceRanges = Option.Array('--api-server-load-balancer-source-ranges', { description: 'LoadBalancer only: CIDR,... of the clients allowed to connect' });
  tokenAuth = Option.String('--apiserver-enable-token-auth', { tolerateBoolean: true, description: 'Also create a bearer token for the admin' });
  basicAuth = Option.String('--apiserver-enable-basic-auth', { tolerateBoolean: true, hidden: true });
  etcdPersistentStorage = Option.String('--etcd-persistent-storage', { tolerateBoolean: true, description: 'Keep etcd data on a persistent volume (default true)' });
  etcdPvCapacity = Option.String('--etcd-pv-capacity', '10Gi', { description: 'Size of the etcd volume' });
  etcdPvStorageClass = Option.String('--etcd-pv-storage-class', { description: 'Storage class of the etcd volume' });
  etcdServers = Option.String('--etcd-servers', { description: 'Use this external etcd (comma-separated URLs)' });
  etcdCafile = Option.String('--etcd-cafile', { description: "External etcd: file of the CA that signed etcd's serving certificate" });
  etcdCertfile = Option.String('--etcd-certfile', { description: 'External etcd: file of the client certificate (stored in a Secret, never printed)' });
  etcdKeyfile = Option.String('--etcd-keyfile', { description: 'External etcd: file of the client key (stored in a Secret, never printed)' });
  imageRegistry = Option.String('--image-registry', { description: 'Pull every image from this registry (a mirror), e.g. registry.example.com/k8s' });
  image = Option.String('--image', { description: 'kube-apiserver image' });
  etcdImage = Option.String('--etcd-image', { description: 'etcd image' });
  nodeImage = Option.String('--node-image', { description: 'The Node.js image that runs the controller manager code init ships (e.g. a mirror of node:22-slim)' });
  controllerManagerImage = Option.String('--controller-manager-image', { description: 'A prebuilt controller manager image with its own entrypoint, instead of Node.js + shipped code' });
  apiserverResources = Option.String('--apiserver-resources', { description: 'requests.cpu=250m,requests.memory=512Mi,limits.memory=... of kube-apiserver' });
  etcdResources = Option.String('--etcd-resources', { description: 'Resources of etcd, in the same form' });
  controllerManagerResources = Option.String('--controller-manager-resources', { description: 'Resources of the controller manager, in the same form' });
  imagePullPolicy = Option.String('--image-pull-policy', 'IfNotPresent', { description: 'Always, IfNotPresent or Never' });
  imagePullSecrets = Option.Array('--image-pull-secrets', { description: 'Secrets for pulling the images' });
  nodeSelector = Option.Array('--node-selector', { description: 'k=v,... labels of the nodes to run on (kubernetes.io/os=linux is always added unless given)' });
  apiserverArgOverrides = Option.String('--apiserver-arg-overrides', { description: 'e.g. "--a=b,--c=d"' });
  controllerManagerArgOverrides = Option.String('--controllermanager-arg-overrides', { description: 'e.g. "--a=b,--c=d"' });
  waitTimeout = Option.String('--wait-timeout', '5m', { description: 'How long to wait for the load balancer and the API server' });
  encryptionAlgorithm = Option.String('--encryption-algorithm', 'ECDSA-P256', { description: 'Key type of new keys, as kubeadm names them: ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072 or RSA-4096 (existing keys are kept)' });
  certValidity = Option.String('--cert-validity', '8760h', { description: 'How long the certificates init issues are valid (the CA: 10 years)' });
  switchContext = Option.String('--switch-context', { tolerateBoolean: true, description: 'Switch to the new context (default true)' });
  ha = Option.String('--ha', { tolerateBoolean: true, description: 'High availability: etcd as 3 members, --apiserver-replicas API servers (default 2), 2 controller managers, spread over nodes' });
  apiserverReplicas = Option.String('--apiserver-replicas', { description: 'With --ha: how many API servers (default 2)' });
  join = Option.String('--join', { tolerateBoolean: true, description: 'Also join the host cluster to the federation' });
  restoreFrom = Option.String('--restore-from', { description: 'A file of kubectl federation backup: the new plane gets its CA, keys, identity, members and objects (onto a fresh namespace)' });
  dryRun = Option.String('--dry-run', { tolerateBoolean: true, description: 'Print the objects init would create; create nothing (as kubectl\'s --dry-run=client; =none: do it)' });
  output = Option.String('-o,--output', { description: 'With --dry-run: yaml (default) or json' });

  protected override async run(): Promise<number> {
    const { initCommand } = await import('./run.ts');
    return initCommand(this, this.context);
  }
}
