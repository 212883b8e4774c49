// `kubectl federation deinit`: its flags and help; run.ts (loaded when it runs) checks them and
// runs the steps of deinit.ts.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../cli/command.ts';

export class DeinitCommand extends KubeCommand {
  static override paths = [['deinit']];
  static override usage = Command.Usage({
    description: 'Remove a federation control plane that init deployed',
    details: `
      NAME is the federation's name or its kubeconfig context (default: the current context).
      Removes what init created for it in the host cluster, found by its labels (the namespace only
      if init created it and nothing else is in it), and its context, cluster and user from the
      kubeconfig; if that was the current context, switches back to the host's. Refuses while
      clusters are joined unless --unjoin-members (or --keep-members, which leaves them and their
      copies running for a restore from a backup). etcd's volume is kept unless --purge-data. Asks
      before it deletes anything on a terminal; elsewhere it needs --yes. Safe to run again.
    `,
    examples: [
      ['Remove the federation of the current context', 'kubectl federation deinit'],
      ['Also unjoin its members and delete its data', 'kubectl federation deinit myfed --unjoin-members --purge-data --yes'],
      ['See what would be removed', 'kubectl federation deinit myfed --dry-run'],
      ['Replace the plane from a backup, the members untouched', 'kubectl federation deinit myfed --keep-members --purge-data --yes && kubectl federation init myfed --restore-from myfed-backup.json.gz'],
    ],
  });

  name = Option.String({ name: 'NAME', required: false });
  unjoinMembers = Option.Boolean('--unjoin-members', false, { description: 'Unjoin every member first (default: refuse while any is joined)' });
  keepMembers = Option.Boolean('--keep-members', false, { description: "Leave the members as they are, their copies running: for a federation that comes back from a backup (init --restore-from)" });
  purgeData = Option.Boolean('--purge-data', false, { description: "Delete etcd's volume too (default: keep it)" });
  yes = Option.Boolean('-y,--yes', false, { description: 'Do not ask for confirmation' });
  dryRun = Option.String('--dry-run', { tolerateBoolean: true, description: 'List what would be removed; remove nothing (as kubectl\'s --dry-run=client; =none: do it)' });

  protected override async run(): Promise<number> {
    const { deinitCommand } = await import('./run.ts');
    return deinitCommand(this, this.context);
  }
}
