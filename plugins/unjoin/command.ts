// `kubectl federation unjoin`: options and help only; the work is in shared/join.
import { Command, Option } from 'clipanion';
import { MembershipCommand } from '../join/command.ts';

export class UnjoinCommand extends MembershipCommand {
  static override paths = [['unjoin']];
  static override usage = Command.Usage({
    description: 'Remove a cluster from the federation',
    details: `
      Deletes the Cluster from the federation, its credentials from the host cluster, and the
      service account and RBAC this federation created in the cluster. A cluster that cannot be
      reached is reported; the rest is removed anyway.
    `,
    examples: [
      ['Remove the cluster "mycluster"', 'kubectl federation unjoin mycluster'],
      ['Succeed even if it is not joined', 'kubectl federation unjoin mycluster --ignore-not-found'],
    ],
  });

  ignoreNotFound = Option.Boolean('--ignore-not-found', false, { description: 'Succeed when the cluster is not joined' });

  protected override async run(): Promise<number> {
    const { unjoinCommand } = await import('../../shared/join/command.ts');
    return unjoinCommand(this, this.context);
  }
}
