// kubectl-federation-deinit: `kubectl federation deinit` as an executable of its own.
import { Command } from 'clipanion';
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from '../federation/commands.ts';
import { DeinitCommand } from '../../shared/deinit/command.ts';

class Deinit extends DeinitCommand {
  static override paths = [Command.Default];
}

main({ binaryName: 'kubectl federation deinit', commands: [Deinit], completionSpec: federationSpec });
