// kubectl-federation-status: `kubectl federation status` as an executable of its own.
import { Command } from 'clipanion';
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from '../federation/commands.ts';
import { StatusCommand } from '../../shared/status/command.ts';

class Status extends StatusCommand {
  static override paths = [Command.Default];
}

main({ binaryName: 'kubectl federation status', commands: [Status], completionSpec: federationSpec });
