// kubectl-federation: every subcommand in one executable (krew links one binary per plugin).
import { Command } from 'clipanion';
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from './commands.ts';

/** `kubectl federation` alone lists the subcommands. */
class ListCommands extends Command {
  static override paths = [Command.Default];
  override async execute(): Promise<number> {
    this.context.stdout.write(this.cli.usage(null));
    return 0;
  }
}

main({ ...federationSpec, commands: [ListCommands, ...federationSpec.commands] });
