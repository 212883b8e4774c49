// A highly available control plane on a host of three nodes whose pods really run: init --ha spreads
// etcd's three members, two API servers and two controller managers over the nodes; then, while a
// client writes to the federation without pause, one etcd member's process is killed and one API
// server pod deleted, and the plane is upgraded by re-running init with a newer version. No
// acknowledged write may be lost; the longest gap between acknowledged writes is printed.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { KUBERNETES_VERSION } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { kubectl, kubectlJSON } from '../support/kubectl.ts';
import { type LocalNode, startLocalNode, UPGRADE_TEST_TAGS } from '../support/local-node.ts';
import { podTestsSkip } from '../support/netns.ts';
import { pluginEnv } from '../support/plugin-path.ts';
import { userSteps } from '../support/user-steps.ts';
import { ContinuousWriter, type WriterResult } from '../support/writer.ts';

const skip = podTestsSkip();
const SYSTEM = 'federation-system';
const NS = 'ha-writes';
const OLD = UPGRADE_TEST_TAGS.at(-1)!;

interface ClusterList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

describe('a highly available control plane', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;
  let kubeconfig: string;

  before(async () => {
    // Slot 4: a host of three nodes and a member node (the slot's four networks).
    node = await startLocalNode({ names: ['host', 'member-1'], hostNodes: 3, memberNodes: ['member-1'], slot: 4, lifetimeMs: 25 * 60_000 });
    kubeconfig = join(node.dir, 'kubeconfig');
    copyFileSync(node.planes.kubeconfig, kubeconfig);
    Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
    env = pluginEnv(kubeconfig);
  });

  after(async () => {
    await node?.stop();
  });

  const { run, waitFor } = userSteps(() => env, () => node.dir, () => undefined, 180_000);
  const runners = () => [node.runner, ...node.hostRunners];
  const runnerTail = () => runners().map((r) => (existsSync(r.logFile) ? readFileSync(r.logFile, 'utf8').split('\n').slice(-8).join('\n') : '')).join('\n');
  const systemPods = async () => (await kubectlJSON<{ items: V1Pod[] }>(env, '--context=host', '-n', SYSTEM, 'get', 'pods')).items;
  const ready = (p: V1Pod) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.ready);
  const byComponent = (pods: V1Pod[], component: string) => pods.filter((p) => p.metadata?.labels?.['app.kubernetes.io/component'] === component);
  /** Every replica Ready, none terminating: 3 etcd members, 2 API servers, 2 controller managers. */
  const planeReady = () =>
    waitFor(`every replica of the plane Ready\n${runnerTail()}`, async () => {
      const pods = await systemPods();
      const counts = { etcd: 3, apiserver: 2, 'controller-manager': 2 };
      return Object.entries(counts).every(([c, n]) => byComponent(pods, c).length === n && byComponent(pods, c).every(ready)) ? pods : undefined;
    });
  const memberReady = () =>
    waitFor('member-1 Ready in the federation', async () => {
      const list = await kubectlJSON<ClusterList>(env, '--context=federation', 'get', 'clusters').catch(() => undefined);
      return list?.items.some((c) => c.metadata.name === 'member-1' && c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) ? true : undefined;
    });
  const writer = async (prefix: string) => {
    const w = new ContinuousWriter(await credentialsFor(Kubeconfig.load(kubeconfig).resolve('federation')), NS, prefix);
    w.start(10 * 60_000);
    return w;
  };
  /** Every acknowledged write is in the federation, read back after the disturbance. */
  const assertNoneLost = async (result: WriterResult, what: string) => {
    const stored = new Set((await kubectlJSON<{ items: V1ConfigMap[] }>(env, '--context=federation', '-n', NS, 'get', 'configmaps')).items.map((c) => c.metadata!.name!));
    const lost = result.acknowledged.filter((n) => !stored.has(n));
    console.log(`# ${what}: ${result.acknowledged.length} writes acknowledged, ${lost.length} lost, ${result.retries} retried, longest gap ${result.longestGapMs} ms`);
    assert.ok(result.acknowledged.length > 20, `${what}: the writer kept writing (${result.acknowledged.length})`);
    assert.deepEqual(lost, [], `${what}: acknowledged writes lost`);
  };
  /** Each etcd member's metrics (its health port, plain HTTP inside the pod network). */
  const etcdMetrics = async () => {
    const pods = byComponent(await systemPods(), 'etcd');
    return Promise.all(
      pods.map(async (p) => {
        const text = await fetch(`http://${p.status!.podIP}:2381/metrics`, { signal: AbortSignal.timeout(3000) }).then((r) => r.text());
        const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
        return { pod: p.metadata!.name!, revision: value('etcd_debugging_mvcc_current_revision'), leader: value('etcd_server_is_leader') === 1 };
      }),
    );
  };
  const caughtUp = () =>
    waitFor('the etcd members at one revision', async () => {
      const revisions = (await etcdMetrics()).map((m) => m.revision);
      return revisions.every((r) => r > 0 && r === revisions[0]) ? revisions : undefined;
    }, 30_000);

  test('a single-replica federation is not turned into an HA one in place: init --ha names the steps, and they work, the member untouched', async () => {
    await run('federation', 'init');
    await run('federation', 'join', 'member-1');
    await memberReady();
    await run('--context=federation', 'create', 'namespace', NS);
    await run('--context=federation', '-n', NS, 'create', 'configmap', 'kept', '--from-literal=colour=blue');
    const copy = () => kubectlJSON<V1ConfigMap>(env, '--context=member-1', '-n', NS, 'get', 'configmap', 'kept').catch(() => undefined);
    const uid = (await waitFor('kept in member-1', copy)).metadata!.uid;
    const refused = await kubectl(env, 'federation', 'init', '--ha');
    assert.equal(refused.code, 1);
    const line = /^error: federation federation runs one API server with etcd in its pod; init does not turn it into a highly available one in place: (kubectl federation backup .*)\n$/.exec(refused.stderr);
    assert.ok(line, refused.stderr);
    // The steps, exactly as said (the file in this test's directory); the restore starts at an older version, for the upgrade below.
    const steps = line[1]!.replace(/ \(the members keep.*$/, '').split('; ').map((step) => step.split(' ').slice(1));
    assert.deepEqual(steps.map((a) => a.slice(0, 2).join(' ')), ['federation backup', 'federation deinit', 'federation init']);
    const file = join(node.dir, 'federation.backup');
    const at = (args: string[]) => args.map((a) => (a === 'federation.backup' ? file : a));
    await run(...at(steps[0]!));
    await run(...at(steps[1]!), '--yes');
    const init = await run(...at(steps[2]!), `--image=registry.k8s.io/kube-apiserver:${OLD}`);
    assert.match(init, /Creating etcd cluster \(3 members, 10Gi each\)/);
    await memberReady();
    // The member's copy is the same object: recognised, never re-created.
    assert.equal((await copy())?.metadata?.uid, uid);
  });

  test('init --ha on three nodes: every replica Ready, each component spread over the nodes, status shows them all', async () => {
    const pods = await planeReady();
    for (const [component, n] of [['etcd', 3], ['apiserver', 2], ['controller-manager', 2]] as const) {
      const nodes = new Set(byComponent(pods, component).map((p) => p.spec?.nodeName));
      assert.equal(nodes.size, n, `${component} on ${[...nodes].join(', ')}`);
    }
    // Each etcd member's volume is bound to the node it runs on.
    const pvs = await kubectlJSON<{ items: { spec: { claimRef?: { name: string }; nodeAffinity?: { required?: { nodeSelectorTerms: { matchExpressions: { values: string[] }[] }[] } } } }[] }>(env, '--context=host', 'get', 'pv');
    for (const p of byComponent(pods, 'etcd')) {
      const pv = pvs.items.find((v) => v.spec.claimRef?.name === `data-${p.metadata!.name}`);
      assert.equal(pv?.spec.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions[0]?.values[0], p.spec?.nodeName);
    }
    const budgets = await kubectlJSON<{ items: { metadata: { name: string }; spec: { maxUnavailable: number } }[] }>(env, '--context=host', '-n', SYSTEM, 'get', 'pdb');
    assert.deepEqual(budgets.items.map((b) => `${b.metadata.name}:${b.spec.maxUnavailable}`).sort(), ['apiserver:1', 'controller-manager:1', 'etcd:1']);
    // status: every replica with its node, etcd's certificates; unhealthy only for the older version.
    const status = await kubectl(env, 'federation', 'status');
    for (const name of ['etcd-0', 'etcd-1', 'etcd-2']) assert.match(status.stdout, new RegExp(`${name} +1/1 +Running +\\d+ +local-node`));
    assert.match(status.stdout, /etcd \(members\)/);
    assert.match(status.stdout, /apiserver-etcd-client/);
    // The plane is not changed into another shape by a re-run without --ha: one line, nothing changed.
    const refused = await kubectl(env, 'federation', 'init');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: federation federation is highly available \(etcd as three members\); init without --ha would not keep it so: re-run init with --ha, or to go back to one replica: kubectl federation backup federation/);
    assert.equal(refused.stderr.split('\n').filter(Boolean).length, 1);
  });

  test('an etcd member killed and an API server pod deleted under a continuous writer: no acknowledged write lost, both replicas back', async () => {
    const w = await writer('loss');
    await new Promise((r) => setTimeout(r, 3000));
    // The leader's process, as a crash or the node's out-of-memory killer would end it: the worst
    // member to lose, since the others must elect a new leader before the next write.
    const leader = (await etcdMetrics()).find((m) => m.leader)?.pod;
    assert.ok(leader, 'one etcd member leads');
    const worker = runners().flatMap((r) => r.pods()).find((p) => p.name === `${SYSTEM}/${leader}`);
    const pid = worker?.containers[0]?.pid;
    assert.ok(pid, `${leader} runs on one of the nodes`);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${leader} restarted and Ready`, async () => {
      const p = (await systemPods()).find((x) => x.metadata?.name === leader);
      return p && ready(p) && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? true : undefined;
    });
    const victim = byComponent(await systemPods(), 'apiserver')[0]!.metadata!.name!;
    await run('--context=host', '-n', SYSTEM, 'delete', 'pod', victim, '--wait=false');
    await planeReady();
    await new Promise((r) => setTimeout(r, 3000));
    await assertNoneLost(await w.stop(), 'loss of an etcd member and an API server pod');
    // The killed member caught up: every member is at the same revision.
    await caughtUp();
    // Members stay Ready, and propagation goes on: a new object reaches the member.
    await memberReady();
    await run('--context=federation', '-n', NS, 'create', 'configmap', 'after-loss', '--from-literal=ok=yes');
    await waitFor('after-loss in member-1', async () => {
      const cm = await kubectlJSON<V1ConfigMap>(env, '--context=member-1', '-n', NS, 'get', 'configmap', 'after-loss').catch(() => undefined);
      return cm?.data?.ok === 'yes' ? true : undefined;
    });
  });

  test('a rolling upgrade by re-running init with a newer version under the writer: one replica at a time, no acknowledged write lost', async () => {
    const w = await writer('upgrade');
    await new Promise((r) => setTimeout(r, 2000));
    const out = await run('federation', 'init', '--ha');
    assert.match(out, new RegExp(`upgrading kube-apiserver ${OLD} -> ${KUBERNETES_VERSION}`));
    // init returns once every replica runs the new version.
    const pods = byComponent(await systemPods(), 'apiserver').filter((p) => !p.metadata?.deletionTimestamp);
    assert.deepEqual(pods.map((p) => p.spec?.containers[0]?.image), [`registry.k8s.io/kube-apiserver:${KUBERNETES_VERSION}`, `registry.k8s.io/kube-apiserver:${KUBERNETES_VERSION}`]);
    await new Promise((r) => setTimeout(r, 2000));
    await assertNoneLost(await w.stop(), 'rolling upgrade');
    await planeReady();
    await memberReady();
    await waitFor('status healthy', async () => ((await kubectl(env, 'federation', 'status')).code === 0 ? true : undefined), 60_000);
  });

  test("certs renew etcd under the writer: etcd's members, then the API servers, one at a time; no acknowledged write lost", async () => {
    const before = new Map((await systemPods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const w = await writer('renew');
    await new Promise((r) => setTimeout(r, 2000));
    const out = await run('federation', 'certs', 'renew', 'etcd');
    assert.match(out, /^Rolling StatefulSet federation-system\/etcd one member at a time\.\.\. done$/m);
    assert.match(out, /^Rolling Deployment federation-system\/apiserver onto its new etcd client certificate\.\.\. done$/m);
    await new Promise((r) => setTimeout(r, 2000));
    await assertNoneLost(await w.stop(), 'renewal of the etcd certificates');
    const pods = await planeReady();
    // Every etcd member and API server is a new pod; the controller managers were left alone.
    for (const p of [...byComponent(pods, 'etcd'), ...byComponent(pods, 'apiserver')]) assert.notEqual(before.get(p.metadata!.name!), p.metadata!.uid, p.metadata!.name);
    for (const p of byComponent(pods, 'controller-manager')) assert.equal(before.get(p.metadata!.name!), p.metadata!.uid, p.metadata!.name);
    await caughtUp();
    // A re-run of init rolls nothing: renew wrote the digests init computes.
    const renewed = new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    await run('federation', 'init', '--ha');
    const after = await systemPods();
    assert.deepEqual(new Map(after.map((p) => [p.metadata!.name!, p.metadata!.uid!])), renewed);
  });

  test('deinit removes every replica, the budgets and, with --purge-data, each member volume claim', async () => {
    await run('federation', 'deinit', '--unjoin-members', '--purge-data', '--yes');
    const left = await kubectl(env, '--context=host', '-n', SYSTEM, 'get', 'statefulsets,deployments,pdb,pvc,pods', '-o', 'name');
    assert.equal(left.stdout.trim(), '', left.stdout);
  });
});
