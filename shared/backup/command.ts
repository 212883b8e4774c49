// `kubectl federation backup`: its flags and help; the work (loaded when it runs) is backup.ts.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../cli/command.ts';

export class BackupCommand extends KubeCommand {
  static override paths = [['backup']];
  static override usage = Command.Usage({
    description: "Write the federation's state to a file, for init --restore-from",
    details: `
      NAME is the federation's name or its kubeconfig context (default: the current context). The
      file holds every object of the federation, read at one revision (the state of one moment):
      Clusters, member credentials, workloads, policies, custom resources; and the federation's
      CA, keys and certificates from the host cluster. It is written 0600, whole or not at all.
      It holds private keys and tokens: keep it as you keep the CA key. Restore it onto a fresh
      host namespace with kubectl federation init NAME --restore-from FILE.
    `,
    examples: [
      ['The federation of the current context', 'kubectl federation backup -f fed.json.gz'],
      ['Federation "myfed", into a dated file in the working directory', 'kubectl federation backup myfed'],
    ],
  });

  name = Option.String({ name: 'NAME', required: false });
  file = Option.String('-f,--filename', { description: 'The file to write (default: NAME-backup-TIMESTAMP.json.gz)' });

  protected override async run(): Promise<number> {
    const [{ Kubeconfig }, { runBackup }, { parseDuration }, { Output }] = await Promise.all([
      import('../kubeconfig.ts'),
      import('./backup.ts'),
      import('../duration.ts'),
      import('../output.ts'),
    ]);
    const out = new Output({ stream: this.context.stdout, warnings: this.context.stderr });
    const r = await runBackup({ kubeconfig: Kubeconfig.load(this.kubeconfig), ...(this.name ? { name: this.name } : {}), ...(this.file ? { file: this.file } : {}), requestTimeoutMs: parseDuration(this.requestTimeout, '--request-timeout'), out });
    out.line();
    out.line(`Backed up federation ${r.federation}: ${r.objects} objects (${r.clusters} ${r.clusters === 1 ? 'member' : 'members'}) at resourceVersion ${r.resourceVersion}, to ${r.file} (mode 0600).`);
    out.line('It holds private keys and member tokens: keep it as you keep the CA key.');
    out.line(`Restore it onto a fresh host namespace: kubectl federation init ${r.federation} --restore-from ${r.file}`);
    return 0;
  }
}
