// The users' first two commands, exactly as they type them, through kubectl's plugin discovery:
// `kubectl federation init` (current context: host) and `kubectl federation join member-1`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { readCluster } from '../support/federation.ts';
import { kubeConfigFor } from '../support/kube.ts';
import { type Planes, startPlanes } from '../support/localcluster.ts';
import { pluginEnv } from '../support/plugin-path.ts';
import { playLoadBalancer, playPod, podIP, type StandInPod } from '../support/stand-ins.ts';

let planes: Planes;
let kubeconfig: string;
let pod: StandInPod | undefined;
let lb: { close(cb: () => void): void } | undefined;

before(async () => {
  planes = await startPlanes(['host', 'member-1']);
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'first-commands-')), 'config');
  copyFileSync(planes.kubeconfig, kubeconfig);
  Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
});
after(async () => {
  await pod?.stop();
  await new Promise<void>((r) => (lb ? lb.close(r) : r()));
  await planes.stop();
});

function kubectl(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn('kubectl', args, { env: pluginEnv(kubeconfig), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

test('kubectl federation init, then kubectl federation join member-1', async () => {
  const host = kubeConfigFor(kubeconfig, 'host');
  const ip = podIP();
  // The cloud's load balancer and the kubelet, played by the test (see stand-ins.ts).
  const cluster = (async () => {
    lb = await playLoadBalancer(host, 'federation-system', 'apiserver', ip);
    pod = await playPod(host, 'federation-system', 'apiserver', ip);
  })();

  const init = await kubectl(['federation', 'init']);
  assert.equal(init.code, 0, init.out);
  await cluster;
  assert.match(init.out, /Deploying federation "federation" onto the host cluster of context "host"/);
  assert.match(init.out, /Switched to context "federation"\./);
  assert.equal(Kubeconfig.load(kubeconfig).currentContext, 'federation');

  // The local planes listen on loopback, as kind's do: join refuses that address unless told that
  // it is meant (no controller manager runs in this test; the address only has to be recorded).
  const refused = await kubectl(['federation', 'join', 'member-1']);
  assert.equal(refused.code, 1, refused.out);
  assert.match(refused.out, /an address of this machine only: .*--cluster-server=URL/);
  const server = Kubeconfig.load(kubeconfig).cluster('member-1-cluster')?.server;
  const joined = await kubectl(['federation', 'join', 'member-1', `--cluster-server=${server}`]);
  assert.equal(joined.code, 0, joined.out);
  assert.match(joined.out, /Cluster member-1 joined federation federation/);
  const c = await readCluster(kubeConfigFor(kubeconfig, 'federation'), 'member-1');
  assert.equal(c.spec.secretRef?.name, 'member-member-1');

  const listed = await kubectl(['get', 'clusters']);
  assert.equal(listed.code, 0, listed.out);
  assert.match(listed.out, /^NAME\s+READY\s+MODE\s+SERVER\s+AGE\nmember-1\s+(\S+\s+)?Push\s/m);
  const resources = await kubectl(['--context=federation', 'api-resources', '--api-group=core.federation.kubectl-federation.io']);
  assert.match(resources.out, /clusters\s+core\.federation\.kubectl-federation\.io\/v1beta1\s+false\s+Cluster/);
});
