// `make test`: starts the shared local control planes once, runs every test file with node's test
// runner against them, and stops them at the end, whether the tests passed or not.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlanes } from './support/localcluster.ts';
import { ownNetns } from './support/netns.ts';

// The whole run lives in a network namespace of its own (as root): the pod tests build their node's
// network there, and nothing they do reaches the machine's own network.
const netns = await ownNetns(false);
if (netns.role === 'parent') process.exit(netns.code);
if (netns.role === 'unavailable') console.log(`# pod tests skipped: ${netns.reason}`);

// Every temporary file of the run (tests, planes, pods, kubeconfigs) goes under one directory,
// removed at the end, so not even a test that stops half-way leaves files in /tmp.
const runTmp = mkdtempSync(join(tmpdir(), 'kubectl-federation-test-'));
process.env.TMPDIR = runTmp;

const sharedPlanes = ['host', 'member-1', 'member-2'];
const files = process.argv.slice(2);
const testFiles = files.length > 0 ? files : ['test/**/*.test.ts'];

const planes = await startPlanes(sharedPlanes);
console.log(
  `# localcluster: ${sharedPlanes.length} control planes (${sharedPlanes.join(', ')}) up in ${planes.startSeconds.toFixed(1)}s`,
);
let code: number;
try {
  const tap = join(runTmp, 'results.tap');
  const runner = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, '--test-concurrency=2', ...testFiles], {
    stdio: 'inherit',
    env: { ...process.env, LOCALCLUSTER_DIR: planes.dir },
  });
  const stopRunner = () => runner.kill('SIGTERM');
  process.once('SIGINT', stopRunner);
  process.once('SIGTERM', stopRunner);
  code = await new Promise<number>((resolve) =>
    runner.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
  );
  // A green run is never mistaken for a full one: what was skipped, and why, comes last.
  const skipped = new Map<string, number>();
  for (const m of (existsSync(tap) ? readFileSync(tap, 'utf8') : '').matchAll(/^\s*ok \d+ - .* # SKIP ?(.*)$/gm)) {
    const reason = m[1]!.trim() || 'no reason given';
    skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  }
  const total = [...skipped.values()].reduce((a, b) => a + b, 0);
  console.log(total === 0 ? '# skipped: none' : `# skipped: ${total} (${[...skipped].map(([r, n]) => `${n}: ${r}`).join('; ')})`);
} finally {
  await planes.stop();
  rmSync(runTmp, { recursive: true, force: true });
}
process.exit(code);
