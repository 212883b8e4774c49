// `kubectl federation join`: its flags and help (and the flags unjoin shares); run.ts (loaded when
// it runs) checks them and runs the steps of join.ts (pull.ts for --pull).
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../cli/command.ts';

/** Options join and unjoin share. */
export abstract class MembershipCommand extends KubeCommand {
  cluster = Option.String({ name: 'CLUSTER' });
  clusterContext = Option.String('--cluster-context', { description: "The cluster's kubeconfig context (default: CLUSTER)" });
  // Not `context`: clipanion's commands have a property of that name.
  federationContext = Option.String('--context', { description: 'The federation API server\'s context (default: the current context)' });
  hostContext = Option.String('--host-cluster-context', { description: 'The host cluster\'s context (default: recorded by init)' });
  namespace = Option.String('--federation-system-namespace', { description: 'The federation namespace in the host (default: recorded by init)' });
}

export class JoinCommand extends MembershipCommand {
  static override paths = [['join']];
  static override usage = Command.Usage({
    description: 'Register a cluster with the federation',
    details: `
      CLUSTER is the cluster's name in the federation and, unless --cluster-context says otherwise,
      the name of its kubeconfig context. Creates a service account for the federation in the cluster,
      stores its token in the federation, and creates the Cluster in the federation (the current
      context, as init leaves it). Safe to run again.
    `,
    examples: [
      ['Join the cluster of context "mycluster"', 'kubectl federation join mycluster'],
      ['A context whose name is not a valid cluster name', 'kubectl federation join --cluster-context=gke_project_zone_prod prod'],
      ['Label it for placement', 'kubectl federation join mycluster --cluster-labels=region=eu,tier=prod'],
      ['A kind cluster (its kubeconfig says https://127.0.0.1:PORT)', 'kubectl federation join kind-member --cluster-server=https://member-control-plane:6443'],
      ['Allow a custom resource to be propagated too', 'kubectl federation join mycluster --propagated-kinds=Deployment.apps,ConfigMap,widgets.example.com'],
      ['Show the objects join would create', 'kubectl federation join mycluster --dry-run -o yaml'],
      [
        'A private cluster, from its own side (kubectl federation token create prints this)',
        'kubectl federation join edge-1 --pull --federation-server=https://203.0.113.10:443 --token=abcdef.0123456789abcdef --discovery-token-ca-cert-hash=sha256:...',
      ],
    ],
  });

  pull = Option.Boolean('--pull', false, { description: 'Pull mode, for a cluster the federation cannot reach: an agent in the cluster calls the federation (run against the cluster only; see kubectl federation token create)' });
  federationServer = Option.String('--federation-server', { description: "With --pull: the federation's address as the cluster reaches it" });
  token = Option.String('--token', { description: 'With --pull: the join token kubectl federation token create made' });
  caCertHash = Option.String('--discovery-token-ca-cert-hash', { description: "With --pull: sha256:<hex> of the federation CA's public key; nothing is sent to a server whose CA does not match" });
  agentImage = Option.String('--agent-image', { description: 'With --pull: the image that runs the agent (default: the stock Node.js image init uses)' });

  useKubeconfigCredentials = Option.String('--use-kubeconfig-credentials', {
    tolerateBoolean: true,
    description: "Store the context's own credentials instead of creating a service account",
  });
  propagatedKinds = Option.String('--propagated-kinds', {
    description: "Kinds the federation may propagate into this cluster (its role allows exactly these; default: the controller manager's default list)",
  });
  clusterServer = Option.String('--cluster-server', {
    description: "The cluster's API server address as the federation's controller manager reaches it (default: the context's server; needed when that is a loopback address, as kind's and minikube's are)",
  });
  clusterLabels = Option.Array('--cluster-labels', { description: 'Labels of the Cluster, key=value,... (placement selects clusters by them)' });
  dryRun = Option.String('--dry-run', { tolerateBoolean: true, description: 'Print the objects join would create; create nothing (as kubectl\'s --dry-run=client; =none: do it)' });
  output = Option.String('-o,--output', { description: 'With --dry-run: yaml (default) or json' });

  protected override async run(): Promise<number> {
    const { joinCommand } = await import('./run.ts');
    return joinCommand(this, this.context);
  }
}
