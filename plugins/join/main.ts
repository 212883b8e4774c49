// kubectl-federation-join: `kubectl federation join` as an executable of its own.
import { Command } from 'clipanion';
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from '../federation/commands.ts';
import { JoinCommand } from '../../shared/join/command.ts';

class Join extends JoinCommand {
  static override paths = [Command.Default];
}

main({ binaryName: 'kubectl federation join', commands: [Join], completionSpec: federationSpec });
