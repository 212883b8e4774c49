// `kubectl federation diff`: its flags and help; the work (loaded when it runs) is diff.ts.
import { Command, Option } from 'clipanion';
import { KubeCommand, reportError } from '../cli/command.ts';

export class DiffCommand extends KubeCommand {
  static override paths = [['diff']];
  static override usage = Command.Usage({
    description: 'Show what each member would receive, beside what it has now',
    details: `
      For each member the placement selects: the copy the federation would apply there (replicas
      divided, Overrides applied, the dependencies that follow a workload added) against the
      member's object now, in kubectl diff's unified format (KUBECTL_EXTERNAL_DIFF is honoured).
      A copy the placement would no longer select shows as removed. Members are read through the
      kubeconfig contexts named as the clusters. Exit 0: no differences; 1: differences; more: an
      error. It changes nothing, in the federation or the members.
    `,
    examples: [
      ['Before applying a file to the federation', 'kubectl federation diff -f web.yaml'],
      ['A kustomization, one member only', 'kubectl federation diff -k overlays/prod --cluster eu-1'],
      ['An object already in the federation', 'kubectl federation diff -n shop deployment/web'],
    ],
  });

  object = Option.String({ name: 'KIND/NAME', required: false });
  filename = Option.Array('-f,--filename', { description: 'A file of objects to compare (- for stdin); repeat for several' });
  kustomize = Option.String('-k,--kustomize', { description: 'A kustomization directory (built with kubectl kustomize)' });
  namespace = Option.String('-n,--namespace', { description: 'The namespace of objects that name none (default: default)' });
  cluster = Option.String('--cluster', { description: 'Only this member' });
  contextName = Option.String('--context', { description: "The federation's kubeconfig context (default: the current context)" });

  protected override async run(): Promise<number> {
    const [{ parseDuration }, { Kubeconfig }, { runDiff }, { readFileSync }] = await Promise.all([
      import('../duration.ts'),
      import('../kubeconfig.ts'),
      import('./diff.ts'),
      import('node:fs'),
    ]);
    // As kubectl diff: 1 means differences, so an error exits 2 or more.
    const result = await runDiff({
      kubeconfig: Kubeconfig.load(this.kubeconfig),
      ...(this.contextName ? { context: this.contextName } : {}),
      files: this.filename ?? [],
      ...(this.kustomize ? { kustomize: this.kustomize } : {}),
      ...(this.object ? { object: this.object } : {}),
      ...(this.namespace ? { namespace: this.namespace } : {}),
      ...(this.cluster ? { cluster: this.cluster } : {}),
      timeoutMs: parseDuration(this.requestTimeout, '--request-timeout'),
      stdin: () => readFileSync(0, 'utf8'),
    }).catch((err: unknown) => ({ code: Math.max(2, reportError(err, this.context.stderr)), text: '' }));
    this.context.stdout.write(result.text);
    return result.code;
  }
}
