// kubectl-federation: every subcommand in one executable (krew links one binary per plugin).
import { Command } from 'clipanion';
import { main } from '../../shared/cli/run.ts';
import { InitCommand } from '../init/command.ts';
import { JoinCommand } from '../join/command.ts';
import { UnjoinCommand } from '../unjoin/command.ts';

/** `kubectl federation` alone lists the subcommands. */
class ListCommands extends Command {
  static override paths = [Command.Default];
  override async execute(): Promise<number> {
    this.context.stdout.write(this.cli.usage(null));
    return 0;
  }
}

main({ binaryName: 'kubectl federation', commands: [ListCommands, InitCommand, JoinCommand, UnjoinCommand] });
