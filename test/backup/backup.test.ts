// Backup and restore on real local control planes whose pods really run: init deploys the plane
// onto the host's node, a member runs a propagated Deployment, and the plane is backed up, deleted
// with its data, and restored from the file. The member's copies are never touched: same UIDs, no
// Conflict, and propagation goes on under the restored identity.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1ConfigMap, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { NODE_IMAGE } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import type { Propagation } from '../../shared/manifests/federation-api.ts';
import { PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { kubectl, kubectlJSON } from '../support/kubectl.ts';
import { type LocalNode, startLocalNode } from '../support/local-node.ts';
import { podTestsSkip } from '../support/netns.ts';
import { pluginEnv } from '../support/plugin-path.ts';
import { userSteps } from '../support/user-steps.ts';

const skip = podTestsSkip();
const NS = 'shop';
const SYSTEM = 'federation-system';
/** What never appears in output: a PEM private key, or the bearer token of a member Secret. */
const SECRET_MATERIAL = /PRIVATE KEY|eyJhbGciOi/;

interface ClusterList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

describe('backup and restore', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;
  let file: string;

  before(async () => {
    // Slot 3: apart from the pod tests (0), propagation (1) and rollouts (2), which may run meanwhile.
    node = await startLocalNode({ names: ['host', 'member-1'], memberNodes: ['member-1'], slot: 3, lifetimeMs: 20 * 60_000 });
    const kubeconfig = join(node.dir, 'kubeconfig');
    copyFileSync(node.planes.kubeconfig, kubeconfig);
    Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
    env = pluginEnv(kubeconfig);
    file = join(node.dir, 'fed.json.gz');
    await poll(async () => ((await kubectl(env, '--context=host', 'get', 'serviceaccount', 'default')).code === 0 ? done(true) : notYet('no default ServiceAccount yet')), {
      what: 'the default ServiceAccount',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
  });

  after(async () => {
    await node?.stop();
  });

  const { run, waitFor } = userSteps(() => env, () => node.dir, () => undefined, 120_000);
  const runnerTail = () => readFileSync(node.runner.logFile, 'utf8').split('\n').slice(-20).join('\n');

  const memberReady = () =>
    waitFor('member-1 Ready in the federation', async () => {
      const list = await kubectlJSON<ClusterList>(env, '--context=federation', 'get', 'clusters');
      return list.items.some((c) => c.metadata.name === 'member-1' && c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) ? true : undefined;
    });
  const planeRunning = () =>
    waitFor(`the control plane's pods running\n${runnerTail()}`, async () => {
      const pods = await kubectlJSON<{ items: V1Pod[] }>(env, '--context=host', '-n', SYSTEM, 'get', 'pods');
      return pods.items.length === 2 && pods.items.every((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready)) ? true : undefined;
    });
  /** The member's copies, by kind/name: their UIDs say whether they were ever re-created. */
  const memberUids = async () => {
    const list = await kubectlJSON<{ items: { kind: string; metadata: { name: string; uid: string } }[] }>(env, '--context=member-1', '-n', NS, 'get', 'deployments,configmaps,secrets', '-l', PROPAGATED_BY_LABEL);
    return Object.fromEntries(list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.uid]));
  };
  /** The host namespace's objects and their versions: "nothing changed" is these, before and after. */
  const hostState = async () => {
    const list = await kubectlJSON<{ items: { kind: string; metadata: { name: string; resourceVersion: string } }[] }>(env, '--context=host', '-n', SYSTEM, 'get', 'deployments,services,secrets,configmaps,pvc');
    return list.items.map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  };

  test('a federation with a member and a running workload, backed up to a 0600 file that nothing prints', async () => {
    const init = await run('federation', 'init');
    assert.match(init, /Federation API server is running at: https:\/\/10\.245\.12\.\d+\n/);
    await planeRunning();
    await run('federation', 'join', 'member-1');
    await memberReady();
    await run('--context=federation', 'create', 'namespace', NS);
    await run('--context=federation', '-n', NS, 'create', 'configmap', 'settings', '--from-literal=colour=blue');
    await run('--context=federation', '-n', NS, 'create', 'secret', 'generic', 'db', '--from-literal=password=hunter2');
    await run('--context=federation', '-n', NS, 'create', 'deployment', 'web', `--image=${NODE_IMAGE}`, '--replicas=2', '--', 'node', '-e', "require('http').createServer((q, r) => r.end('ok')).listen(8080)");
    await waitFor('web Available in member-1', async () => {
      const d = await kubectlJSON<V1Deployment>(env, '--context=member-1', '-n', NS, 'get', 'deployment', 'web').catch(() => undefined);
      return d?.status?.availableReplicas === 2 ? true : undefined;
    });
    await run('--context=federation', '-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s');
    const uids = await memberUids();
    assert.deepEqual(Object.keys(uids).sort(), ['ConfigMap/settings', 'Deployment/web', 'Secret/db']);

    const backup = await kubectl(env, 'federation', 'backup', '-f', file);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(backup.stdout, /Backed up federation federation: \d+ objects \(1 member\) at resourceVersion \d+, to .*fed\.json\.gz \(mode 0600\)\./);
    assert.match(backup.stdout, /It holds private keys and member tokens: keep it as you keep the CA key\./);
    assert.doesNotMatch(backup.stdout + backup.stderr, SECRET_MATERIAL);
    // It would never go to standard output.
    const toStdout = await kubectl(env, 'federation', 'backup', '-f', '-');
    assert.equal(toStdout.code, 1);
    assert.match(toStdout.stderr, /^error: the backup holds private keys and tokens: it is written to a file \(-f FILE\), never to standard output\n$/);
    writeFileSync(join(node.dir, 'member-uids.json'), JSON.stringify(uids));
  });

  test('bad input: a truncated file, a foreign one, a restore over a running federation: one line, nothing changed', async () => {
    const before = await hostState();
    const truncated = join(node.dir, 'truncated.json.gz');
    const bytes = readFileSync(file);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const foreign = join(node.dir, 'foreign.yaml');
    writeFileSync(foreign, 'apiVersion: v1\nkind: List\nitems: []\n');
    const cases: [string[], RegExp][] = [
      [['--restore-from', truncated], /^error: \S+truncated\.json\.gz is damaged or truncated \(unexpected end of file\): nothing was restored; use another copy of the backup$/],
      [['--restore-from', foreign], /^error: \S+foreign\.yaml is not a backup made by kubectl federation backup \(it is not gzip data\); pass the file backup wrote$/],
      [['--restore-from', join(node.dir, 'missing.json.gz')], /^error: cannot read backup \S+missing\.json\.gz: no such file$/],
      [['other', '--restore-from', file], /^error: \S+ is a backup of federation "federation", not "other"/],
      [['--restore-from', file, '--host-cluster-context=host'], /^error: namespace federation-system of the host already holds federation data \(its Service, its credentials, etcd's claim\): a restore goes onto a fresh namespace, not over a running federation; kubectl federation deinit federation --purge-data \(after a backup of it\), or restore into another namespace$/],
    ];
    for (const [args, message] of cases) {
      const r = await kubectl(env, 'federation', 'init', ...args);
      assert.notEqual(r.code, 0, args.join(' '));
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, message);
    }
    assert.deepEqual(await hostState(), before, 'nothing changed in the host');
  });

  test('deinit --keep-members --purge-data, then init --restore-from: the members keep their copies, untouched', async () => {
    const uids = JSON.parse(readFileSync(join(node.dir, 'member-uids.json'), 'utf8')) as Record<string, string>;
    const deinit = await run('federation', 'deinit', 'federation', '--keep-members', '--purge-data', '--yes');
    assert.match(deinit, /left as they are: member-1/);
    assert.deepEqual(await memberUids(), uids, 'deinit left the copies');
    // As init would say if run sooner: the namespace deinit deleted must be gone first.
    await waitFor('the old namespace gone', async () => ((await kubectl(env, '--context=host', 'get', 'namespace', SYSTEM)).code !== 0 ? true : undefined));

    const restored = await kubectl(env, 'federation', 'init', '--restore-from', file, '--host-cluster-context=host');
    assert.equal(restored.code, 0, `${restored.stdout}\n${restored.stderr}`);
    assert.match(restored.stdout, /Restoring federation federation from .*fed\.json\.gz\.\.\. done \(\d+ objects restored(, \d+ there already)?; identity [0-9a-f]{6}, as backed up at /);
    assert.match(restored.stdout, /Its 1 member: kubectl get clusters/);
    assert.doesNotMatch(restored.stdout + restored.stderr, SECRET_MATERIAL);
    await planeRunning();
    await memberReady();
    // Everything is back, and the controller manager knows the copies as its own: no Conflict.
    assert.equal((await kubectlJSON<V1ConfigMap>(env, '--context=federation', '-n', NS, 'get', 'configmap', 'settings')).data?.colour, 'blue');
    await run('--context=federation', '-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s');
    // Each record (the Deployment, the ConfigMap, the Secret): applied and healthy in member-1, no error (a Conflict would be one).
    const records = await waitFor('a record of each object, applied without error', async () => {
      const list = await kubectlJSON<{ items: Propagation[] }>(env, '--context=federation', '-n', NS, 'get', 'propagations');
      const settled = list.items.filter((p) => p.status?.clusters?.length === 1 && p.status.clusters.every((c) => c.cluster === 'member-1' && c.applied && c.healthy && !c.error));
      return settled.length === 3 ? list.items : undefined;
    });
    assert.deepEqual(records.map((p) => p.spec.resource.kind).sort(), ['ConfigMap', 'Deployment', 'Secret']);
    assert.deepEqual(await memberUids(), uids, 'no copy was re-created');
    // Propagation goes on under the restored identity.
    await run('--context=federation', '-n', NS, 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"colour":"green"}}');
    await waitFor('the change in member-1', async () => ((await kubectlJSON<V1ConfigMap>(env, '--context=member-1', '-n', NS, 'get', 'configmap', 'settings')).data?.colour === 'green' ? true : undefined));
    assert.deepEqual(await memberUids(), uids);
  });
});
