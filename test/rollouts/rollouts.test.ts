// Rollouts across clusters on real local control planes whose pods really run: three members (a
// canary, one in region eu, one elsewhere), each with a node of the local pod runner. A change to a
// Deployment in the federation walks the stages of its namespace's rollout-stages annotation; a bad
// one halts in the canary; pause, resume, history and undo are plain kubectl against the federation.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1DaemonSet, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { FIELD_MANAGER, NODE_IMAGE } from '../../shared/constants.ts';
import type { Propagation } from '../../shared/manifests/federation-api.ts';
import { ANNOTATIONS } from '../../shared/propagation/annotations.ts';
import { runCli } from '../support/cli.ts';
import { federationOn, type RunningController, startController, testControllerArgs } from '../support/federation.ts';
import { kubectl, kubectlJSON, runProgram } from '../support/kubectl.ts';
import { type LocalNode, startLocalNode } from '../support/local-node.ts';
import { podTestsSkip } from '../support/netns.ts';
import { helmBin, requireTool } from '../support/paths.ts';
import { pluginEnv } from '../support/plugin-path.ts';
import { userSteps } from '../support/user-steps.ts';

const skip = podTestsSkip();
const FED = 'federation';
/** In stage order: the canary, region eu, the rest. */
const MEMBERS = ['member-a', 'member-b', 'member-c'];
const LABELS = ['env=canary,region=us', 'region=eu', 'region=us'];
const SOAK_S = 6;
const STAGES = `env=canary@${SOAK_S}s; region=eu; *`;
const SERVER = "require('http').createServer((q, r) => r.end(process.env.VERSION)).listen(8080)";
const NS = 'shop';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Event {
  reason: string;
  message: string;
  type: string;
}

/** What one member's Deployment runs, as seen now. */
interface Seen {
  version?: string;
  /** Rolled out: observed, every replica updated and available, no old one left. */
  rolledOut: boolean;
}

describe('rollouts across clusters', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;
  let controller: RunningController;

  before(async () => {
    // Slot 2: apart from the pod tests' (0) and propagation's (1), which may run at the same time.
    node = await startLocalNode({ names: [FED, ...MEMBERS], memberNodes: MEMBERS, slot: 2, serveServices: false, lifetimeMs: 20 * 60_000 });
    const kubeconfig = await federationOn(node.planes, node.dir, FED);
    env = pluginEnv(kubeconfig);
    controller = await startController(testControllerArgs(kubeconfig, FED));
    for (const [i, m] of MEMBERS.entries()) {
      const r = await runCli(['join', m, `--cluster-labels=${LABELS[i]}`, `--kubeconfig=${kubeconfig}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    await waitFor('every member Ready', async () => {
      const list = await kubectlJSON<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(env, 'get', 'clusters');
      return list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length === 3 ? true : undefined;
    });
    await run('create', 'namespace', NS);
    await run('annotate', 'namespace', NS, `${ANNOTATIONS.rolloutStages}=${STAGES}`);
  });

  const { tail, run, find, waitFor, apply } = userSteps(() => env, () => node.dir, () => controller?.log(), 90_000);

  after(async () => {
    if (process.env.CONTROLLER_LOG) writeFileSync(process.env.CONTROLLER_LOG, controller?.log() ?? '');
    await controller?.stop();
    await node?.stop();
  });

  const events = async (name: string) =>
    (await kubectlJSON<{ items: (Event & { metadata: { creationTimestamp: string } })[] }>(env, '-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '--sort-by=.metadata.creationTimestamp')).items;
  const seen = async (member: string, kind = 'deployment', name = 'web'): Promise<Seen> => {
    const d = await find<V1Deployment>(member, '-n', NS, 'get', kind, name);
    const version = d?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'VERSION')?.value;
    const s = d?.status;
    const want = d?.spec?.replicas ?? 0;
    const rolledOut = !!d && !!s && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.replicas ?? 0) === want;
    return { ...(version ? { version } : {}), rolledOut };
  };
  const podUids = async (member: string) => {
    const pods = await find<{ items: V1Pod[] }>(member, '-n', NS, 'get', 'pods', '-l', 'app=web');
    return (pods?.items ?? []).map((p) => p.metadata?.uid).sort();
  };
  const deployment = () => find<V1Deployment & { status?: { conditions?: Condition[] } }>(FED, '-n', NS, 'get', 'deployment', 'web');
  const record = () => find<Propagation>(FED, '-n', NS, 'get', 'propagation', 'deployment.apps.web');

  /** Applies a change and waits until every member runs `version`, rolled out. */
  const walk = async (change: () => Promise<unknown>, version: string) => {
    await change();
    await waitFor(`every member rolled out ${version}`, async () => ((await Promise.all(MEMBERS.map((m) => seen(m)))).every((x) => x.version === version && x.rolledOut) ? true : undefined), 120_000);
    return version;
  };

  /**
   * The members' own clocks of a change, which no polling skews: when our field manager last changed
   * the member's Deployment (the template, for a member a stage held back), and when the last of its
   * pods of that version became Ready. Seconds, as the API server writes them.
   */
  const serverTimes = async (member: string, version: string) => {
    const d = await find<V1Deployment>(member, '-n', NS, 'get', 'deployment', 'web', '--show-managed-fields');
    const applied = d?.metadata?.managedFields?.find((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply')?.time;
    const pods = await find<{ items: V1Pod[] }>(member, '-n', NS, 'get', 'pods', '-l', 'app=web');
    const ready = (pods?.items ?? [])
      .filter((p) => !p.metadata?.deletionTimestamp && p.spec?.containers[0]?.env?.find((e) => e.name === 'VERSION')?.value === version)
      .map((p) => p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime);
    assert.ok(applied && ready.length > 0 && ready.every(Boolean), `${member}: ${JSON.stringify({ applied, ready })}`);
    return { changed: new Date(applied).getTime(), ready: Math.max(...ready.map((t) => new Date(t!).getTime())) };
  };

  /** Each stage's members changed only once every earlier stage's pods were Ready (and the canary soaked). */
  const inOrder = async (version: string) => {
    const [a, b, c] = await Promise.all(MEMBERS.map((m) => serverTimes(m, version)));
    // Whole seconds: a soak of SOAK_S seconds shows as at least SOAK_S - 1.
    assert.ok(b!.changed - a!.ready >= (SOAK_S - 1) * 1000, `stage 2 changed ${b!.changed - a!.ready} ms after the canary's pods were Ready; its soak is ${SOAK_S}s`);
    assert.ok(c!.changed >= b!.ready, `stage 3 changed ${c!.changed - b!.ready} ms after stage 2's pods were Ready`);
  };

  test('a first creation and a good change walk the stages in order; rollout status returns at the end; the record shows each member\'s revision and stage', async () => {
    await walk(
      () =>
        apply({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: NS, annotations: { [ANNOTATIONS.rolloutStageDeadline]: '90s', 'kubernetes.io/change-cause': 'v1' } },
          spec: {
            replicas: 3,
            progressDeadlineSeconds: 15,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER], env: [{ name: 'VERSION', value: 'v1' }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }] },
            },
          },
        }),
      'v1',
    );
    await inOrder('v1');
    await run('-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s');

    // A change: set env, as a user would.
    let status: ReturnType<typeof kubectl> | undefined;
    await walk(async () => {
      await run('-n', NS, 'set', 'env', 'deployment/web', 'VERSION=v2');
      await run('-n', NS, 'annotate', 'deployment/web', 'kubernetes.io/change-cause=v2', '--overwrite');
      status = kubectl(env, '-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=120s');
    }, 'v2');
    await inOrder('v2');
    const done = await status!;
    assert.equal(done.code, 0, `${done.stdout}${done.stderr}`);
    assert.match(done.stdout, /successfully rolled out/);
    // It waited for the stages: the counts rose stage by stage.
    assert.match(done.stdout, /1 out of 3 new replicas have been updated|2 out of 3 new replicas have been updated/, done.stdout);

    const events1 = (await events('web')).filter((e) => e.reason === 'RolloutStage').map((e) => e.message);
    assert.deepEqual(events1.filter((m) => m.startsWith('revision 2:')), [
      'revision 2: stage 1 of 3 (env=canary) receives it',
      'revision 2: stage 2 of 3 (region=eu) receives it',
      'revision 2: stage 3 of 3 (*) receives it',
    ]);
    const rec = await waitFor('the record settled', async () => {
      const r = await record();
      return r?.status.rollout?.phase === 'Complete' && r.status.clusters.every((c) => c.revision === 2) ? r : undefined;
    });
    assert.deepEqual(rec.status.clusters.map((c) => [c.cluster, c.revision, c.stage]), [['member-a', 2, 1], ['member-b', 2, 2], ['member-c', 2, 3]]);
    assert.deepEqual(rec.status.rollout?.stages, ['env=canary', 'region=eu', '*']);
    // Each member runs one replica of the new template: its pods, not only its Deployment.
    for (const m of MEMBERS) {
      const pods = await find<{ items: V1Pod[] }>(m, '-n', NS, 'get', 'pods', '-l', 'app=web');
      const running = (pods?.items ?? []).filter((p) => !p.metadata?.deletionTimestamp);
      assert.deepEqual(running.map((p) => p.spec?.containers[0]?.env?.find((e) => e.name === 'VERSION')?.value), ['v2'], `${m}: ${JSON.stringify(running.map((p) => p.metadata?.name))}`);
    }
  });

  test('a bad change halts in the first stage: later members untouched, rollout status fails naming the stage, undo brings the canary back', async () => {
    const before = { b: await podUids('member-b'), c: await podUids('member-c') };
    const templates = { b: await seen('member-b'), c: await seen('member-c') };
    await run('-n', NS, 'set', 'image', 'deployment/web', 'main=registry.invalid/none:1');
    const status = await kubectl(env, '-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=120s');
    assert.notEqual(status.code, 0, status.stdout);
    assert.match(status.stderr, /exceeded its progress deadline/);
    const d = await waitFor('the halt named', async () => {
      const got = await deployment();
      const c = got?.status?.conditions?.find((x) => x.type === 'Progressing');
      return c?.reason === 'ProgressDeadlineExceeded' && /stage 1 of 3/.test(c.message ?? '') ? c : undefined;
    });
    assert.match(d.message ?? '', /stage 1 of 3 \(env=canary\) halted: cluster member-a: .*later stages keep their revision: fix it and apply it again, or kubectl rollout undo deployment\/web/);
    const halted = (await events('web')).filter((e) => e.reason === 'RolloutHalted');
    assert.equal(halted.length, 1, JSON.stringify(halted));
    assert.match(halted[0]!.message, /revision 3: stage 1 of 3 \(env=canary\) halted: cluster member-a/);
    assert.equal((await record())?.status.rollout?.phase, 'Halted');
    // Later stages never received it: same template, same pods.
    await new Promise((r) => setTimeout(r, 3000));
    for (const m of ['member-b', 'member-c'] as const) {
      const d2 = await find<V1Deployment>(m, '-n', NS, 'get', 'deployment', 'web');
      assert.equal(d2?.spec?.template.spec?.containers[0]?.image, NODE_IMAGE, `${m} got the bad image`);
      assert.deepEqual(await seen(m), templates[m === 'member-b' ? 'b' : 'c']);
    }
    assert.deepEqual({ b: await podUids('member-b'), c: await podUids('member-c') }, before, 'the later members\' pods were replaced');

    // Undo: a spec change like any other; the canary runs revision 2's template again.
    const undo = await run('-n', NS, 'rollout', 'undo', 'deployment/web');
    assert.match(undo, /rolled back/);
    const undone = await kubectl(env, '-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=120s');
    assert.equal(undone.code, 0, `${undone.stdout}${undone.stderr}\n${JSON.stringify((await deployment())?.status)}\n${JSON.stringify((await find<V1Deployment>('member-a', '-n', NS, 'get', 'deployment', 'web'))?.status)}`);
    const a = await find<V1Deployment>('member-a', '-n', NS, 'get', 'deployment', 'web');
    assert.equal(a?.spec?.template.spec?.containers[0]?.image, NODE_IMAGE);
    assert.deepEqual({ b: await podUids('member-b'), c: await podUids('member-c') }, before, 'an undo to what they run leaves the later members alone');
    // The history: revision 2 came back as revision 4 (as the deployment controller numbers it).
    const history = await run('-n', NS, 'rollout', 'history', 'deployment/web');
    const revisions = [...history.matchAll(/^(\d+)\s+(\S+)/gm)].map((m) => [Number(m[1]), m[2]]);
    assert.deepEqual(revisions, [[1, 'v1'], [3, 'v2'], [4, 'v2']], history);
  });

  test('pause holds the next stage after the canary has soaked; resume lets it go on', async () => {
    await run('-n', NS, 'set', 'env', 'deployment/web', 'VERSION=v3');
    await waitFor('the canary rolled out v3', async () => ((await seen('member-a')).version === 'v3' && (await seen('member-a')).rolledOut ? true : undefined));
    await run('-n', NS, 'rollout', 'pause', 'deployment/web');
    // Past the soak: stage 2 would have started by now.
    await new Promise((r) => setTimeout(r, (SOAK_S + 4) * 1000));
    assert.equal((await seen('member-b')).version, 'v2', 'stage 2 received the change while paused');
    const paused = await waitFor('the record says paused', async () => {
      const r = await record();
      return r?.status.rollout?.phase === 'Paused' ? r : undefined;
    });
    assert.match(paused.status.rollout!.message, /stage 1 of 3 \(env=canary\) done; paused before the next stage/);
    const cond = (await deployment())?.status?.conditions?.find((x) => x.type === 'Progressing');
    assert.equal(cond?.reason, 'DeploymentPaused');
    const resumed = Date.now();
    await run('-n', NS, 'rollout', 'resume', 'deployment/web');
    await run('-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=120s');
    for (const m of MEMBERS) assert.equal((await seen(m)).version, 'v3', m);
    assert.ok(Date.now() - resumed < 60_000);
  });

  test('history and --to-revision: the revision shown is the template it had; an undo to it walks the stages', async () => {
    const one = await run('-n', NS, 'rollout', 'history', 'deployment/web', '--revision=1');
    assert.match(one, /VERSION:\s+v1/);
    // As in one cluster: the federation's ReplicaSets are listed by kubectl, and stay in the federation.
    const rs = await kubectlJSON<{ items: { metadata: { name: string; annotations?: Record<string, string> } }[] }>(env, '-n', NS, 'get', 'replicasets', '-l', 'app=web');
    assert.ok(rs.items.length >= 3, JSON.stringify(rs.items.map((r) => r.metadata.name)));
    for (const m of MEMBERS) {
      const theirs = await find<{ items: { metadata: { name: string } }[] }>(m, '-n', NS, 'get', 'replicasets');
      for (const r of rs.items) assert.ok(!theirs?.items.some((t) => t.metadata.name === r.metadata.name), `${r.metadata.name} reached ${m}`);
    }
    await walk(() => run('-n', NS, 'rollout', 'undo', 'deployment/web', '--to-revision=1'), 'v1');
    await inOrder('v1');
    await run('-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s');
  });

  test("a DaemonSet's history is ControllerRevisions kubectl lists and undoes", async () => {
    await apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: NS, annotations: { [ANNOTATIONS.rolloutStages]: '*' } },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER], env: [{ name: 'VERSION', value: 'a1' }] }] } },
      },
    });
    await run('-n', NS, 'rollout', 'status', 'daemonset/agent', '--timeout=90s');
    await run('-n', NS, 'set', 'env', 'daemonset/agent', 'VERSION=a2');
    await run('-n', NS, 'rollout', 'status', 'daemonset/agent', '--timeout=90s');
    const history = await run('-n', NS, 'rollout', 'history', 'daemonset/agent');
    assert.deepEqual([...history.matchAll(/^(\d+)\s/gm)].map((m) => Number(m[1])), [1, 2], history);
    await run('-n', NS, 'rollout', 'undo', 'daemonset/agent');
    const ds = await waitFor('every member back on a1', async () => {
      const all = await Promise.all(MEMBERS.map((m) => find<V1DaemonSet>(m, '-n', NS, 'get', 'daemonset', 'agent')));
      return all.every((d) => d?.spec?.template.spec?.containers[0]?.env?.[0]?.value === 'a1') ? all : undefined;
    });
    assert.equal(ds.length, 3);
    const after = await run('-n', NS, 'rollout', 'history', 'daemonset/agent');
    assert.deepEqual([...after.matchAll(/^(\d+)\s/gm)].map((m) => Number(m[1])), [2, 3], after);
  });

  test('helm install --wait returns when every member runs the release; a bad upgrade with --atomic fails and is rolled back, later members untouched', async () => {
    const chart = join(node.dir, 'chart');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: shopfront\nversion: 0.1.0\n');
    writeFileSync(join(chart, 'values.yaml'), `image: ${NODE_IMAGE}\nversion: h1\n`);
    writeFileSync(
      join(chart, 'templates', 'deployment.yaml'),
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: shopfront}',
        'spec:',
        '  replicas: 3',
        '  progressDeadlineSeconds: 15',
        '  selector: {matchLabels: {app: shopfront}}',
        '  template:',
        '    metadata: {labels: {app: shopfront}}',
        '    spec:',
        '      containers:',
        '      - name: main',
        '        image: {{ .Values.image }}',
        `        command: [node, -e, ${JSON.stringify(SERVER)}]`,
        '        env: [{name: VERSION, value: {{ .Values.version }}}]',
        '        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}',
        '',
      ].join('\n'),
    );
    const helmEnv = { ...env, HELM_CACHE_HOME: join(node.dir, 'helm-cache'), HELM_CONFIG_HOME: join(node.dir, 'helm-config'), HELM_DATA_HOME: join(node.dir, 'helm-data') };
    const helm = (...args: string[]) => runProgram(requireTool(helmBin), helmEnv, ...args);
    await run('create', 'namespace', 'charts');
    await run('annotate', 'namespace', 'charts', `${ANNOTATIONS.rolloutStages}=${STAGES}`);
    const install = await helm('install', 'shopfront', chart, '-n', 'charts', '--wait', '--timeout=150s');
    assert.equal(install.code, 0, `${install.stdout}${install.stderr}\n${tail()}`);
    // --wait returned: every member runs the release, all pods ready (helm judged the federation's newest ReplicaSet).
    for (const m of MEMBERS) {
      const d = await find<V1Deployment>(m, '-n', 'charts', 'get', 'deployment', 'shopfront');
      assert.equal(d?.status?.readyReplicas, 1, `${m} not ready when helm --wait returned`);
    }
    const podsOf = async (m: string) => ((await find<{ items: V1Pod[] }>(m, '-n', 'charts', 'get', 'pods', '-l', 'app=shopfront'))?.items ?? []).map((p) => p.metadata?.uid).sort();
    const later = { b: await podsOf('member-b'), c: await podsOf('member-c') };
    const upgrade = await helm('upgrade', 'shopfront', chart, '-n', 'charts', '--set', 'image=registry.invalid/none:1', '--wait', '--atomic', '--timeout=40s');
    assert.notEqual(upgrade.code, 0, upgrade.stdout);
    assert.match(`${upgrade.stdout}${upgrade.stderr}`, /rolled back|rollback/i);
    // The rollback is a change like any other: the canary runs the good template again; the later members never changed.
    await waitFor('the canary back on the good image', async () => {
      const d = await find<V1Deployment>('member-a', '-n', 'charts', 'get', 'deployment', 'shopfront');
      return d?.spec?.template.spec?.containers[0]?.image === NODE_IMAGE && d.status?.readyReplicas === 1 ? true : undefined;
    });
    assert.deepEqual({ b: await podsOf('member-b'), c: await podsOf('member-c') }, later);
    const status = await helm('status', 'shopfront', '-n', 'charts');
    assert.match(status.stdout, /REVISION: 3/);
    await run('delete', 'namespace', 'charts', '--timeout=90s');
  });

  test('deleting the workload deletes its history in the federation', async () => {
    await run('-n', NS, 'delete', 'deployment', 'web', '--timeout=60s');
    await waitFor('no ReplicaSet of web left', async () => {
      const rs = await kubectlJSON<{ items: unknown[] }>(env, '-n', NS, 'get', 'replicasets', '-l', 'app=web');
      return rs.items.length === 0 ? true : undefined;
    });
  });
});
