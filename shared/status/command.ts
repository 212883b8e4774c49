// `kubectl federation status`: its flags and help; the work (loaded when it runs) is status.ts, the
// report's frame shared/cli/report.ts.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../cli/command.ts';

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
    const [{ report }, { federationStatus, formatStatus }] = await Promise.all([import('../cli/report.ts'), import('./status.ts')]);
    const status = await report(this, this.context.stdout, (kubeconfig, timeoutMs) => federationStatus(kubeconfig, this.name, timeoutMs), formatStatus);
    return status.healthy ? 0 : 1;
  }
}
