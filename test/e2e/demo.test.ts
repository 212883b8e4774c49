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

test("make demo: init, join twice, both Ready, the user's propagation sequence, unjoin, and everything stops", { skip }, async () => {
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
  assert.match(out, /NAME\s+READY\s+MODE\s+SERVER\s+AGE\nmember-1\s+True\s+Push\s+\S+\s+\S+\nmember-2\s+True\s/);
  // Propagation, exactly as a user types it: rollout status waits for both members; the federation's
  // READY is their pods summed; each member runs its half; delete and namespace deletion finish.
  for (const command of [
    'create namespace shop',
    '-n shop create deployment web --image=docker.io/library/node:22.23.2-slim --replicas=4 -- node -e "require(\'http\')',
    '-n shop rollout status deployment/web',
    '--context member-1 -n shop get deployment web',
    '-n shop delete deployment web',
    'delete namespace shop',
  ]) {
    assert.ok(out.includes(`$ kubectl ${command}`), `the demo shows "kubectl ${command}"`);
  }
  assert.match(out, /deployment "web" successfully rolled out/);
  assert.match(out, /\$ kubectl -n shop get deployment web\nNAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+4\/4\s+4\s+4\s/);
  assert.match(out, /\$ kubectl --context member-1 -n shop get deployment web\nNAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+2\/2\s+2\s+2\s/);
  assert.match(out, /\$ kubectl --context member-2 -n shop get deployment web\nNAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+2\/2\s+2\s+2\s/);
  assert.match(out, /^deployment\.apps\.web\s+Deployment\s+member-1,member-2\s+2\/2\s+2\/2\s/m);
  assert.match(out, /\$ kubectl --context member-1 -n shop get deployments\nNo resources found in shop namespace\./);
  assert.match(out, /namespace "shop" deleted/);
  assert.match(out, /unjoin member-2[^]*NAME\s+READY\s+MODE\s+SERVER\s+AGE\nmember-1\s+True\s+Push\s+\S+\s+\S+\n\n/);
  assert.match(out, /^apiserver-\S+\s+2\/2\s+Running\s/m);
  // It waits for the federation API server rather than crashing until it is up.
  assert.match(out, /^controller-manager-\S+\s+1\/1\s+Running\s+0\s/m);
  assert.match(out, /Stopped the federation, its pods and the local control planes\.\n$/);
  // Nothing is left: the demo's process (holder of its network namespace) and its files are gone.
  const demoPid = Number(/nsenter --net=\/proc\/(\d+)\/ns\/net/.exec(out)?.[1]);
  assert.throws(() => process.kill(demoPid, 0), { code: 'ESRCH' });
  const runnerDir = /Container logs: (\S+)\/logs;/.exec(out)?.[1];
  assert.ok(runnerDir && !existsSync(runnerDir), `${runnerDir} is removed`);
});
