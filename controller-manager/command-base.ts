// What the controller manager's commands (the controller manager itself, and `agent`) share: an
// error becomes one line on stderr and an exit code, as in every other command of ours.
import { Command } from 'clipanion';
import { reportError } from '../shared/cli/command.ts';

export abstract class ControllerCommand extends Command {
  override async execute(): Promise<number> {
    try {
      return await this.run();
    } catch (err) {
      return reportError(err, this.context.stderr);
    }
  }

  protected abstract run(): Promise<number>;
}
