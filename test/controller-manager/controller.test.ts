// The controller manager as a real process (started from the code init ships), against real local
// control planes: one plays the federation API server (and the host of the members' Secrets),
// others play members whose API servers the test stops and starts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFor } from '../support/kube.ts';
import { startPlanes, type Planes } from '../support/localcluster.ts';
import { kubectlBin } from '../support/paths.ts';
import {
  createCluster,
  installFederationAPI,
  kubeconfigFor,
  memberToken,
  readCluster,
  type RunningController,
  startController,
  storeMemberSecret,
  waitForReady,
} from '../support/federation.ts';
import { done, notYet, poll } from '../../shared/wait.ts';

const NS = 'federation-system';
const PERIOD_MS = 1000;
const controllerArgs = (planes: Planes, extra: string[] = []) => [
  `--kubeconfig=${kubeconfigFor(planes.kubeconfig, 'federation')}`,
  `--federation-namespace=${NS}`,
  `--cluster-monitor-period=${PERIOD_MS / 1000}s`,
  '--probe-timeout=2s',
  '--failure-threshold=2',
  '--healthz-port=0',
  '--leader-elect-lease-duration=3s',
  '--leader-elect-renew-deadline=2s',
  '--leader-elect-retry-period=500ms',
  ...extra,
];

let planes: Planes;
let federation: KubeConfig;
const controllers: RunningController[] = [];

before(async () => {
  planes = await startPlanes(['federation', 'member-a', 'member-b']);
  federation = kubeConfigFor(planes.kubeconfig, 'federation');
  await installFederationAPI(planes.kubeconfig, 'federation');
});
after(async () => {
  for (const c of controllers) await c.stop('SIGKILL');
  await planes.stop();
});

function serverOf(context: string): string {
  return kubeConfigFor(planes.kubeconfig, context).getCurrentCluster()!.server;
}

function caOf(context: string): string {
  return Buffer.from(kubeConfigFor(planes.kubeconfig, context).getCurrentCluster()!.caData!, 'base64').toString();
}

async function joinByHand(name: string, member: string, token?: string) {
  const t = token ?? (await memberToken(kubeConfigFor(planes.kubeconfig, member), `fed-${name}`));
  await storeMemberSecret(federation, NS, name, { 'ca.crt': caOf(member), token: t });
  await createCluster(federation, {
    metadata: { name },
    spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: serverOf(member) }], secretRef: { name } },
  });
}

describe('controller manager', () => {
  let controller: RunningController;

  test('a member with valid credentials becomes Ready within two periods', async () => {
    controller = await startController(controllerArgs(planes, ['--leader-elect=false']));
    controllers.push(controller);
    await joinByHand('alpha', 'member-a');
    const began = Date.now();
    const cluster = await waitForReady(federation, 'alpha', (r) => r?.status === 'True', 2 * PERIOD_MS + 3000);
    const ready = cluster.status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.reason, 'ClusterReady');
    assert.equal(cluster.status!.conditions!.find((c) => c.type === 'Offline')?.status, 'False');
    console.log(`# alpha Ready after ${Date.now() - began}ms`);
  });

  test('a stopped member API server: Offline and not Ready within the threshold; back when it returns', async () => {
    await planes.control('stop', 'member-a', 'kube-apiserver');
    const down = await waitForReady(federation, 'alpha', (r) => r?.status === 'False', (2 + 2) * PERIOD_MS + 4000);
    const ready = down.status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.reason, 'ClusterNotReachable');
    assert.match(ready.message ?? '', /connection refused/);
    assert.equal(down.status!.conditions!.find((c) => c.type === 'Offline')?.status, 'True');
    await planes.control('start', 'member-a', 'kube-apiserver');
    const back = await waitForReady(federation, 'alpha', (r) => r?.status === 'True', 3 * PERIOD_MS + 4000);
    assert.equal(back.status!.conditions!.find((c) => c.type === 'Offline')?.status, 'False');
  });

  test('wrong credentials: not Ready, with a reason that says unauthorized', async () => {
    await joinByHand('bad-token', 'member-b', 'not-a-valid-token');
    const c = await waitForReady(federation, 'bad-token', (r) => r?.reason === 'Unauthorized', 3 * PERIOD_MS + 3000);
    const ready = c.status!.conditions!.find((x) => x.type === 'Ready')!;
    assert.equal(ready.status, 'False');
    assert.match(ready.message ?? '', /401 Unauthorized/);
  });

  test('a missing Secret is named in the message', async () => {
    await createCluster(federation, {
      metadata: { name: 'no-secret' },
      spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: serverOf('member-b') }], secretRef: { name: 'nowhere' } },
    });
    const c = await waitForReady(federation, 'no-secret', (r) => r?.reason === 'SecretMissing', 3 * PERIOD_MS + 3000);
    assert.match(c.status!.conditions![0]!.message ?? '', /Secret federation-system\/nowhere .* does not exist/);
  });

  test('a malformed Cluster gets a condition message, and the controller keeps running', async () => {
    await createCluster(federation, {
      metadata: { name: 'bad-cidr' },
      spec: { serverAddressByClientCIDRs: [{ clientCIDR: '10.0.0.0/99', serverAddress: serverOf('member-b') }], secretRef: { name: 'alpha' } },
    });
    const c = await waitForReady(federation, 'bad-cidr', (r) => r?.reason === 'InvalidSpec', 3 * PERIOD_MS + 3000);
    assert.match(c.status!.conditions![0]!.message ?? '', /clientCIDR "10\.0\.0\.0\/99" is not a CIDR/);
    assert.equal(controller.process.exitCode, null, 'still running');
    // And healthy clusters are still served.
    await waitForReady(federation, 'alpha', (r) => r?.status === 'True', 3 * PERIOD_MS);
  });

  test('a changed Secret is picked up: new credentials, new client', async () => {
    await storeMemberSecret(federation, NS, 'bad-token', { 'ca.crt': caOf('member-b'), token: await memberToken(kubeConfigFor(planes.kubeconfig, 'member-b'), 'fed-fixed') });
    await waitForReady(federation, 'bad-token', (r) => r?.status === 'True', 3 * PERIOD_MS + 3000);
  });

  test('kubectl get clusters shows NAME, READY, MODE, SERVER and AGE', () => {
    const out = spawnSync(kubectlBin, ['--kubeconfig', planes.kubeconfig, '--context', 'federation', 'get', 'clusters'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const [header, ...rows] = out.stdout.trim().split('\n');
    assert.deepEqual(header!.trim().split(/\s+/), ['NAME', 'READY', 'MODE', 'SERVER', 'AGE']);
    const alpha = rows.find((r) => r.startsWith('alpha '))!;
    assert.deepEqual(alpha.split(/\s+/).slice(0, 4), ['alpha', 'True', 'Push', serverOf('member-a')]);
  });

  test('an unchanged status is not written again', async () => {
    const before = await readRV('alpha');
    await new Promise((r) => setTimeout(r, 3 * PERIOD_MS));
    assert.equal(await readRV('alpha'), before);
  });

  test('bad flags: one clear line and exit 2', async () => {
    const c = await startController(['--kubeconfig=/dev/null', '--cluster-monitor-period=soon']);
    const code = await c.exited;
    assert.equal(code, 2);
    assert.equal(c.log().trim(), 'error: --cluster-monitor-period: "soon" is not a duration (use a form like 30s, 5m or 1h30m)');
  });

  test('stops cleanly on SIGTERM', async () => {
    assert.equal(await controller.stop('SIGTERM'), 0);
    assert.match(controller.log(), /stopped/);
  });
});

async function readRV(name: string): Promise<string> {
  return (await readCluster(federation, name)).metadata.resourceVersion ?? '';
}

describe('leader election', () => {
  test('of two controllers only the leader probes and writes; killing it hands over', async () => {
    const first = await startController(controllerArgs(planes, ['--identity=first']));
    controllers.push(first);
    await poll(async () => (/first leads/.test(first.log()) ? done(true) : notYet('not leading yet')), { what: 'first to lead', timeoutMs: 10_000, intervalMs: 100 });
    const second = await startController(controllerArgs(planes, ['--identity=second']));
    controllers.push(second);
    await poll(async () => (/waiting to lead/.test(second.log()) ? done(true) : notYet('not started')), { what: 'second to start', timeoutMs: 10_000, intervalMs: 100 });

    // A change only the leader can report: member-b's API server goes away.
    await joinByHand('beta', 'member-b');
    await waitForReady(federation, 'beta', (r) => r?.status === 'True', 5000);
    assert.doesNotMatch(second.log(), /leads|cluster beta/, 'the standby neither leads nor writes');

    await first.stop('SIGKILL');
    await poll(async () => (/second leads/.test(second.log()) ? done(true) : notYet('second not leading')), { what: 'second to take over', timeoutMs: 15_000, intervalMs: 200 });
    await planes.control('stop', 'member-b', 'kube-apiserver');
    await waitForReady(federation, 'beta', (r) => r?.status === 'False', 10_000);
    assert.match(second.log(), /cluster beta: Ready=False/);
    await planes.control('start', 'member-b', 'kube-apiserver');
    assert.equal(await second.stop('SIGTERM'), 0);
  });

  test('a lease lost while the federation API server is away (certs renew rolls it) stops the work and wins it back, without exiting', async () => {
    const only = await startController(controllerArgs(planes, ['--identity=only']));
    controllers.push(only);
    await poll(async () => (/only leads/.test(only.log()) ? done(true) : notYet('not leading yet')), { what: 'to lead', timeoutMs: 10_000, intervalMs: 100 });
    // Longer than the renew deadline (2 s) and the lease (3 s).
    await planes.control('stop', 'federation', 'kube-apiserver');
    await new Promise((r) => setTimeout(r, 5000));
    await planes.control('start', 'federation', 'kube-apiserver');
    await poll(async () => (/only lost the lease[^]*only leads/.test(only.log()) ? done(true) : notYet('not leading again')), { what: 'to lead again', timeoutMs: 30_000, intervalMs: 200 });
    const exited = await Promise.race([only.exited, new Promise((r) => setTimeout(() => r('running'), 500))]);
    assert.equal(exited, 'running', 'no exit: a renewal is not a crash');
    // Leading again means working again: a member change is reported.
    await planes.control('stop', 'member-b', 'kube-apiserver');
    try {
      await waitForReady(federation, 'beta', (r) => r?.status === 'False', 15_000);
    } finally {
      await planes.control('start', 'member-b', 'kube-apiserver');
    }
    assert.equal(await only.stop('SIGTERM'), 0);
  });
});
