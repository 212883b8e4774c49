// `kubectl federation init`: options and help only; the work is in shared/init.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../../shared/cli/command.ts';

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
    ],
  });

  name = Option.String({ required: false, name: 'NAME' });
  hostContext = Option.String('--host-cluster-context', { description: 'Kubeconfig context of the host cluster (default: the current context)' });
  namespace = Option.String('--federation-system-namespace', 'federation-system', { description: 'Namespace of the federation components' });
  serviceType = Option.String('--api-server-service-type', 'LoadBalancer', { description: 'LoadBalancer or NodePort' });
  apiServerPort = Option.String('--api-server-port', { description: 'NodePort only: the node port to use' });
  advertiseAddress = Option.String('--api-server-advertise-address', { description: 'NodePort only: the IP clients use' });
  extraSans = Option.Array('--apiserver-cert-extra-sans', { description: 'More names or IPs for the API server certificate' });
  tokenAuth = Option.String('--apiserver-enable-token-auth', { tolerateBoolean: true, description: 'Also create a bearer token for the admin' });
  basicAuth = Option.String('--apiserver-enable-basic-auth', { tolerateBoolean: true, hidden: true });
  etcdPersistentStorage = Option.String('--etcd-persistent-storage', { tolerateBoolean: true, description: 'Keep etcd data on a persistent volume (default true)' });
  etcdPvCapacity = Option.String('--etcd-pv-capacity', '10Gi', { description: 'Size of the etcd volume' });
  etcdPvStorageClass = Option.String('--etcd-pv-storage-class', { description: 'Storage class of the etcd volume' });
  etcdServers = Option.String('--etcd-servers', { description: 'Use this external etcd (comma-separated URLs)' });
  image = Option.String('--image', { description: 'kube-apiserver image' });
  etcdImage = Option.String('--etcd-image', { description: 'etcd image' });
  controllerManagerImage = Option.String('--controller-manager-image', { description: 'A prebuilt controller manager image instead of the stock Node.js image' });
  imagePullPolicy = Option.String('--image-pull-policy', 'IfNotPresent', { description: 'Always, IfNotPresent or Never' });
  imagePullSecrets = Option.Array('--image-pull-secrets', { description: 'Secrets for pulling the images' });
  nodeSelector = Option.Array('--node-selector', { description: 'k=v,... labels of the nodes to run on' });
  apiserverArgOverrides = Option.String('--apiserver-arg-overrides', { description: 'e.g. "--a=b,--c=d"' });
  controllerManagerArgOverrides = Option.String('--controllermanager-arg-overrides', { description: 'e.g. "--a=b,--c=d"' });
  waitTimeout = Option.String('--wait-timeout', '5m', { description: 'How long to wait for the load balancer and the API server' });
  certValidity = Option.String('--cert-validity', '8760h', { description: 'How long the certificates init issues are valid (the CA: 10 years)' });
  switchContext = Option.String('--switch-context', { tolerateBoolean: true, description: 'Switch to the new context (default true)' });
  join = Option.String('--join', { tolerateBoolean: true, description: 'Also join the host cluster to the federation' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Print the objects init would create; create nothing' });
  output = Option.String('-o,--output', { description: 'With --dry-run: yaml (default) or json' });

  protected override async run(): Promise<number> {
    const { initCommand } = await import('../../shared/init/command.ts');
    return initCommand(this, this.context);
  }
}
