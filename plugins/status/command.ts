// `kubectl federation status`: options and help only; the work is in shared/status.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../../shared/cli/command.ts';

export class StatusCommand extends KubeCommand {
  static override paths = [['status']];
  static override usage = Command.Usage({
    description: 'Show the health of a federation and what would fix it',
    details: `
      NAME is the federation's name or its kubeconfig context (default: the current context). One
      screen: endpoint, control plane pods and images, the API server's readiness, the expiry of
      every certificate init made, and the members. Exits 1 when anything is wrong, so it works as
      a check; each problem names the command that would fix it. It changes nothing.
    `,
    examples: [
      ['The federation of the current context', 'kubectl federation status'],
      ['In a script', 'kubectl federation status myfed -o json'],
    ],
  });

  name = Option.String({ name: 'NAME', required: false });
  output = Option.String('-o,--output', { description: 'json or yaml' });

  protected override async run(): Promise<number> {
    const [{ Kubeconfig }, { federationStatus, formatStatus }, { parseDuration }, { parseOneOf }, { formatReport }] = await Promise.all([
      import('../../shared/kubeconfig.ts'),
      import('../../shared/status/status.ts'),
      import('../../shared/duration.ts'),
      import('../../shared/flags.ts'),
      import('../../shared/print.ts'),
    ]);
    const format = this.output === undefined ? undefined : parseOneOf(this.output, ['json', 'yaml'] as const, '--output');
    const status = await federationStatus(Kubeconfig.load(this.kubeconfig), this.name, parseDuration(this.requestTimeout, '--request-timeout'));
    this.context.stdout.write(format ? formatReport(status, format) : formatStatus(status));
    return status.healthy ? 0 : 1;
  }
}
