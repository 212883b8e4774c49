// kubectl-federation-init: `kubectl federation init` as an executable of its own.
import { Command } from 'clipanion';
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from '../federation/commands.ts';
import { InitCommand } from '../../shared/init/command.ts';

class Init extends InitCommand {
  static override paths = [Command.Default];
}

main({ binaryName: 'kubectl federation init', commands: [Init], completionSpec: federationSpec });
