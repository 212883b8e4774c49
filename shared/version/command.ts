// `kubectl federation version`: what this plugin is and what it deploys.
import { Command, Option } from 'clipanion';
import { reportError } from '../cli/command.ts';
import { InputError } from '../errors.ts';
import { versionInfo, versionText } from '../version-info.ts';

export class VersionCommand extends Command {
  static override paths = [['version']];
  static override usage = Command.Usage({
    description: 'Print the plugin version and the versions it deploys',
    examples: [
      ['Human-readable', 'kubectl federation version'],
      ['For scripts', 'kubectl federation version -o json'],
    ],
  });

  output = Option.String('-o,--output', { description: 'json or yaml' });

  override async execute(): Promise<number> {
    try {
      const info = versionInfo();
      if (this.output === undefined) this.context.stdout.write(versionText());
      else if (this.output === 'json' || this.output === 'yaml') this.context.stdout.write((await import('../print.ts')).formatReport(info, this.output));
      else throw new InputError(`--output: "${this.output}" is not json or yaml`);
      return 0;
    } catch (err) {
      return reportError(err, this.context.stderr);
    }
  }
}
