// What `deinit` does with its flags. Loaded only when it runs.
import { createInterface } from 'node:readline/promises';
import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';
import { parseDryRun } from '../flags.ts';
import { Kubeconfig } from '../kubeconfig.ts';
import { Output } from '../output.ts';
import { runDeinit } from './deinit.ts';

interface Input {
  name?: string;
  kubeconfig?: string;
  requestTimeout: string;
  unjoinMembers: boolean;
  keepMembers: boolean;
  purgeData: boolean;
  yes: boolean;
  dryRun?: string | boolean;
}

interface Streams {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** On a terminal, asks; elsewhere only --yes goes ahead (a script must say so). */
async function confirmed(question: string, streams: Streams): Promise<boolean> {
  if (!streams.stdin.isTTY) {
    throw new InputError('deinit deletes the federation and asks first, but there is no terminal to ask on: pass --yes (or --dry-run to see what it would delete)');
  }
  const rl = createInterface({ input: streams.stdin, output: streams.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function deinitCommand(input: Input, streams: Streams): Promise<number> {
  const dryRun = parseDryRun(input.dryRun);
  const requestTimeoutMs = parseDuration(input.requestTimeout, '--request-timeout');
  const kubeconfig = Kubeconfig.load(input.kubeconfig);
  if (!dryRun) kubeconfig.checkWritable();
  if (input.unjoinMembers && input.keepMembers) throw new InputError('--unjoin-members and --keep-members exclude each other: choose one');
  const out = new Output({ stream: streams.stdout, warnings: streams.stderr });
  const target = input.name ?? kubeconfig.currentContext ?? 'the current context';
  if (!dryRun && !input.yes) {
    const what = `Delete federation ${target}${input.purgeData ? ' and its data' : ''}${input.unjoinMembers ? ', unjoining its members' : ''}?`;
    if (!(await confirmed(what, streams))) {
      out.line('Nothing was deleted.');
      return 1;
    }
  }
  const result = await runDeinit({ kubeconfig, name: input.name, unjoinMembers: input.unjoinMembers, keepMembers: input.keepMembers, purgeData: input.purgeData, dryRun, requestTimeoutMs, out });
  if (dryRun) {
    out.line(`Would remove from federation ${result.federation}:`);
    for (const r of result.removed) out.line(`  ${r}`);
  } else out.line(`Federation ${result.federation} removed (${result.removed.length} objects and entries).`);
  if (result.keptClaims.length > 0) {
    out.line(
      `Kept etcd's data: PersistentVolumeClaim ${result.keptClaims.map((c) => `${result.namespace}/${c}`).join(', ')} in the host cluster; ` +
        `running init again with the same name and namespace uses it. To delete it: kubectl --context=${result.hostContext} -n ${result.namespace} delete pvc ${result.keptClaims.join(' ')} ` +
        '(or deinit again with --purge-data)',
    );
  }
  return 0;
}
