// kubectl-federation-unjoin: `kubectl federation unjoin` as an executable of its own.
import { Command } from 'clipanion';
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from '../federation/commands.ts';
import { UnjoinCommand } from '../../shared/unjoin/command.ts';

class Unjoin extends UnjoinCommand {
  static override paths = [Command.Default];
}

main({ binaryName: 'kubectl federation unjoin', commands: [Unjoin], completionSpec: federationSpec });
