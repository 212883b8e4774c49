// `kubectl federation unjoin`: its flags and help (the cluster and contexts as join takes them);
// run.ts (loaded when it runs) runs the steps of unjoin.ts.
import { Command, Option } from 'clipanion';
import { MembershipCommand } from '../join/command.ts';

export class UnjoinCommand extends MembershipCommand {
  static override paths = [['unjoin']];
  static override usage = Command.Usage({
    description: 'Remove a cluster from the federation',
    details: `
      Deletes the Cluster from the federation, its credentials (kept in the federation API server),
      and the service account and RBAC this federation created in the cluster. What the federation
      propagated into the cluster keeps running there (unjoin says how many objects it left) unless
      --delete-propagated. A cluster that cannot be reached is reported; the rest is removed anyway.
    `,
    examples: [
      ['Remove the cluster "mycluster"', 'kubectl federation unjoin mycluster'],
      ['Succeed even if it is not joined', 'kubectl federation unjoin mycluster --ignore-not-found'],
      ['Also delete what the federation propagated there', 'kubectl federation unjoin mycluster --delete-propagated'],
    ],
  });

  ignoreNotFound = Option.Boolean('--ignore-not-found', false, { description: 'Succeed when the cluster is not joined' });
  deletePropagated = Option.Boolean('--delete-propagated', false, { description: 'Delete the objects the federation propagated into the cluster (default: leave them running)' });

  protected override async run(): Promise<number> {
    const { unjoinCommand } = await import('./run.ts');
    return unjoinCommand(this, this.context);
  }
}
