// `make demo`, the README's main command, runs straight through under CI=true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { podTestsSkip } from '../support/netns.ts';
import { repoRoot } from '../support/paths.ts';

// The demo runs pods, which needs root (test/run.ts is then in a network namespace of its own).
const skip = podTestsSkip();

test('make demo: init, join twice, both Ready, unjoin, and everything stops', { skip }, async () => {
  const child = spawn(process.execPath, [join(repoRoot, 'hack', 'demo.ts')], {
    env: { ...process.env, CI: 'true', LOCALCLUSTER_DIR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, out);
  for (const command of ['federation init', 'federation join member-1', 'federation join member-2', 'get clusters', 'federation unjoin member-2']) {
    assert.ok(out.includes(`$ kubectl ${command}\n`), `the demo shows "kubectl ${command}"`);
  }
  assert.match(out, /NAME\s+READY\s+SERVER\s+AGE\nmember-1\s+True\s+\S+\s+\S+\nmember-2\s+True\s/);
  assert.match(out, /unjoin member-2[^]*NAME\s+READY\s+SERVER\s+AGE\nmember-1\s+True\s+\S+\s+\S+\n\n/);
  assert.match(out, /^apiserver-\S+\s+2\/2\s+Running\s/m);
  assert.match(out, /^controller-manager-\S+\s+1\/1\s+Running\s/m);
  assert.match(out, /Stopped the federation, its pods and the local control planes\.\n$/);
  // Nothing is left: the demo's process (holder of its network namespace) and its files are gone.
  const demoPid = Number(/nsenter --net=\/proc\/(\d+)\/ns\/net/.exec(out)?.[1]);
  assert.throws(() => process.kill(demoPid, 0), { code: 'ESRCH' });
  const runnerDir = /Container logs: (\S+)\/logs;/.exec(out)?.[1];
  assert.ok(runnerDir && !existsSync(runnerDir), `${runnerDir} is removed`);
});
