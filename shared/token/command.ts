// `kubectl federation token create`: its flags and help; run.ts (loaded when it runs) checks them
// and runs create.ts.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../cli/command.ts';

export class TokenCreateCommand extends KubeCommand {
  static override paths = [['token', 'create']];
  static override usage = Command.Usage({
    description: 'Print the command that joins a private cluster in pull mode',
    details: `
      Run against the federation (the current context, or --context). Prepares CLUSTER's place in
      the federation (a namespace only its agent may read, and the Cluster), makes a join token
      that joins CLUSTER and no other and expires after --ttl, and prints the command to run
      against the member's own context: kubectl federation join CLUSTER --pull ... The machine
      that runs it needs the member's kubeconfig and the federation's address, not the host's.
      The token is a secret: pass it on as you would a password.
    `,
    examples: [
      ['A token for cluster edge-1, valid for an hour', 'kubectl federation token create edge-1'],
      ['Where members reach the federation at another address than this kubeconfig', 'kubectl federation token create edge-1 --federation-server=https://federation.example.com:443'],
      ['Labelled for placement, valid for a day', 'kubectl federation token create edge-1 --cluster-labels=region=eu --ttl=24h'],
    ],
  });

  cluster = Option.String({ name: 'CLUSTER' });
  // Not `context`: clipanion's commands have a property of that name.
  federationContext = Option.String('--context', { description: "The federation API server's context (default: the current context)" });
  ttl = Option.String('--ttl', '1h', { description: 'How long the token joins (a Go duration: 30m, 1h, 24h)' });
  federationServer = Option.String('--federation-server', { description: "The federation's address as the member reaches it (default: the context's server)" });
  clusterLabels = Option.Array('--cluster-labels', { description: 'Labels of the Cluster, key=value,... (placement selects clusters by them)' });
  dryRun = Option.String('--dry-run', { tolerateBoolean: true, description: 'Print the objects token create would create; create nothing' });
  output = Option.String('-o,--output', { description: 'With --dry-run: yaml (default) or json' });

  protected override async run(): Promise<number> {
    const { tokenCreateCommand } = await import('./run.ts');
    return tokenCreateCommand(this, this.context);
  }
}
