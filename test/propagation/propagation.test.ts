// Propagation against real local control planes whose pods really run: the federation plane runs
// only etcd and kube-apiserver (as init's federation does: no controllers of its own), two members
// each get a node of the local pod runner, so their Deployments become Available for real. The
// controller manager runs from the very code init ships; members are joined with our join command,
// so the member role it creates (no wildcards) is what propagation works with. Users' steps are plain
// kubectl against the federation context.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1ClusterRole, V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { CONTEXT_EXTENSION, NODE_IMAGE } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import type { Propagation } from '../../shared/manifests/federation-api.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { runCli } from '../support/cli.ts';
import { installFederationAPI, kubeconfigFor, type RunningController, startController } from '../support/federation.ts';
import { kubectl, kubectlJSON } from '../support/kubectl.ts';
import { type LocalNode, startLocalNode } from '../support/local-node.ts';
import { podTestsSkip } from '../support/netns.ts';
import { pluginEnv } from '../support/plugin-path.ts';

const skip = podTestsSkip();
const FED = 'federation';
const MEMBERS = ['member-a', 'member-b'];
/** A tiny HTTP server with a readiness probe, in the Node.js image init already uses. */
const SERVER = "require('http').createServer((q, r) => r.end('ok')).listen(8080)";

describe('propagation', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;
  let kubeconfig: string;
  let controller: RunningController;

  before(async () => {
    // Slot 1: the pod tests may run at the same time in this network namespace (slot 0); nothing here
    // needs Services served on a node.
    node = await startLocalNode({ names: [FED, ...MEMBERS], memberNodes: MEMBERS, slot: 1, serveServices: false, lifetimeMs: 20 * 60_000 });
    // The federation API server runs no controllers of its own, as init deploys it.
    await node.planes.control('stop', FED, 'kube-controller-manager');
    kubeconfig = join(node.dir, 'kubeconfig');
    copyFileSync(node.planes.kubeconfig, kubeconfig);
    // As init leaves a kubeconfig: the federation context records its host and namespace.
    const k = Kubeconfig.load(kubeconfig);
    k.write({
      contexts: { [FED]: { cluster: `${FED}-cluster`, user: `${FED}-admin`, extensions: [{ name: CONTEXT_EXTENSION, extension: { hostContext: FED, namespace: 'federation-system', federation: FED } }] } },
      currentContext: FED,
    });
    env = pluginEnv(kubeconfig);
    await installFederationAPI(kubeconfig, FED);
    controller = await startController([
      `--kubeconfig=${kubeconfigFor(kubeconfig, FED)}`,
      '--federation-namespace=federation-system',
      `--federation-name=${FED}`,
      '--cluster-monitor-period=1s',
      '--failure-threshold=2',
      '--resync-period=4s',
      '--rebalance-grace-period=3s',
      '--deletion-timeout=10s',
      '--leader-elect=false',
      '--healthz-port=0',
    ]);
    for (const [i, m] of MEMBERS.entries()) {
      const r = await runCli(['join', m, `--cluster-labels=name=${m},zone=z${i}`, `--kubeconfig=${kubeconfig}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    await waitFor('both members Ready', async () => {
      const list = await kubectlJSON<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(env, 'get', 'clusters');
      const ready = list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
      return ready === 2 ? true : undefined;
    });
  });

  after(async () => {
    await controller?.stop();
    await node?.stop();
  });

  const run = async (...args: string[]) => {
    const r = await kubectl(env, ...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}:\n${r.stdout}\n${r.stderr}\n--- controller:\n${controller?.log().split('\n').slice(-20).join('\n')}`);
    return r.stdout;
  };
  const get = <T>(context: string, ...args: string[]) => kubectlJSON<T>(env, `--context=${context}`, ...args);
  const find = async <T>(context: string, ...args: string[]): Promise<T | undefined> => {
    const r = await kubectl(env, `--context=${context}`, ...args, '-o', 'json');
    return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
  };
  const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000) =>
    poll(
      async () => {
        const v = await check();
        return v === undefined ? notYet(what) : done(v);
      },
      { what, timeoutMs, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- controller:\n${controller.log().split('\n').slice(-30).join('\n')}`);
    });
  const replicasIn = async (member: string, ns: string, name: string) => (await find<V1Deployment>(member, '-n', ns, 'get', 'deployment', name))?.spec?.replicas;
  const events = async (ns: string, name: string) =>
    (await get<{ items: { reason: string; message: string }[] }>(FED, '-n', ns, 'get', 'events', '--field-selector', `involvedObject.name=${name}`)).items;
  const apply = async (obj: object) => {
    const file = join(node.dir, `obj-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(obj));
    await run('apply', '-f', file);
  };

  test("the user's sequence: create, rollout status across members, summed status, delete, namespace deletion", async () => {
    await run('create', 'namespace', 'shop');
    await run('-n', 'shop', 'create', 'deployment', 'web', `--image=${NODE_IMAGE}`, '--replicas=4', '--', 'node', '-e', SERVER);
    // `rollout status` against the federation returns once every member has rolled out.
    const rollout = await kubectl(env, '-n', 'shop', 'rollout', 'status', 'deployment/web', '--timeout=120s');
    assert.equal(rollout.code, 0, `${rollout.stdout}${rollout.stderr}\n${controller.log()}`);
    assert.match(rollout.stdout, /successfully rolled out/);
    // READY 4/4: the members' pods, summed.
    assert.match(await run('-n', 'shop', 'get', 'deployment', 'web'), /^web\s+4\/4\s+4\s+4\s/m);
    for (const m of MEMBERS) {
      const d = await get<V1Deployment>(m, '-n', 'shop', 'get', 'deployment', 'web');
      assert.equal(d.spec?.replicas, 2, m);
      assert.equal(d.status?.readyReplicas, 2, `${m}: its pods run on its own node`);
      assert.equal(d.metadata?.labels?.[PROPAGATED_BY_LABEL]?.length, 6);
      const pods = node.memberRunners.get(m)!.pods().filter((w) => w.pod.metadata?.namespace === 'shop');
      assert.equal(pods.length, 2, `${m} runs two pods`);
    }
    // Per object and per cluster, with plain kubectl get.
    await waitFor('the Propagation record to say 2/2 applied and healthy', async () =>
      /^deployment\.apps\.web\s+Deployment\s+member-a,member-b\s+2\/2\s+2\/2\s/m.test(await run('-n', 'shop', 'get', 'propagations')) ? true : undefined,
    10_000);

    await run('-n', 'shop', 'delete', 'deployment', 'web', '--timeout=60s');
    for (const m of MEMBERS) assert.equal(await find(m, '-n', 'shop', 'get', 'deployment', 'web'), undefined, `gone from ${m}`);
    const deleted = await kubectl(env, 'delete', 'namespace', 'shop', '--timeout=90s');
    assert.equal(deleted.code, 0, `namespace deletion finishes: ${deleted.stderr}\n${controller.log()}`);
    for (const m of MEMBERS) assert.equal(await find(m, 'get', 'namespace', 'shop'), undefined, `namespace gone from ${m}`);
  });

  test('placement: object selector, namespace selector, and the object winning over its namespace', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'placed', annotations: { [ANNOTATIONS.clusterSelector]: 'name=member-b' } } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ns-wide', namespace: 'placed' }, data: { a: '1' } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'own', namespace: 'placed', annotations: { [ANNOTATIONS.clusterSelector]: 'zone in (z0)' } }, data: { a: '1' } });
    await waitFor('ns-wide in member-b, own in member-a', async () =>
      (await find(MEMBERS[1]!, '-n', 'placed', 'get', 'configmap', 'ns-wide')) && (await find(MEMBERS[0]!, '-n', 'placed', 'get', 'configmap', 'own')) ? true : undefined,
    );
    assert.equal(await find(MEMBERS[0]!, '-n', 'placed', 'get', 'configmap', 'ns-wide'), undefined);
    // The namespace itself goes wherever something inside it goes, and stays there (no fight).
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await find<{ status?: { phase?: string } }>(MEMBERS[0]!, 'get', 'namespace', 'placed'))?.status?.phase, 'Active');
    assert.ok(await find(MEMBERS[0]!, '-n', 'placed', 'get', 'configmap', 'own'));
    assert.equal(await find(MEMBERS[1]!, '-n', 'placed', 'get', 'configmap', 'own'), undefined);
    // Changing the namespace's selector moves what follows it (removed where no longer selected).
    await run('annotate', 'namespace', 'placed', '--overwrite', `${ANNOTATIONS.clusterSelector}=name=member-a`);
    await waitFor('ns-wide moved to member-a', async () =>
      (await find(MEMBERS[0]!, '-n', 'placed', 'get', 'configmap', 'ns-wide')) && !(await find(MEMBERS[1]!, '-n', 'placed', 'get', 'configmap', 'ns-wide')) ? true : undefined,
    );
  });

  test('replicas: weights, duplication, and an HPA-less even split with the remainder placed deterministically', async () => {
    await run('create', 'namespace', 'scale');
    const deployment = (name: string, replicas: number, annotations: Record<string, string>) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'scale', annotations },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER] }] } },
      },
    });
    await apply(deployment('weighted', 4, { [ANNOTATIONS.replicaWeights]: 'member-a=3,member-b=1' }));
    await apply(deployment('duplicated', 2, { [ANNOTATIONS.replicaScheduling]: 'Duplicate' }));
    await apply(deployment('odd', 3, {}));
    const shares = async (name: string) => [await replicasIn(MEMBERS[0]!, 'scale', name), await replicasIn(MEMBERS[1]!, 'scale', name)];
    await waitFor('weighted 3/1', async () => (JSON.stringify(await shares('weighted')) === '[3,1]' ? true : undefined));
    await waitFor('duplicated 2/2', async () => (JSON.stringify(await shares('duplicated')) === '[2,2]' ? true : undefined));
    await waitFor('odd 2/1', async () => (JSON.stringify(await shares('odd')) === '[2,1]' ? true : undefined));
    // Bad weights: one Event naming the annotation, nothing changed in any member.
    await run('-n', 'scale', 'annotate', 'deployment', 'weighted', '--overwrite', `${ANNOTATIONS.replicaWeights}=member-a:3`);
    await waitFor('an InvalidPlacement event', async () => ((await events('scale', 'weighted')).some((e) => e.reason === 'InvalidPlacement' && e.message.includes(ANNOTATIONS.replicaWeights)) ? true : undefined));
    assert.deepEqual(await shares('weighted'), [3, 1]);
    await run('delete', 'namespace', 'scale', '--timeout=90s');
  });

  test('drift is put back and reported; a conflict is refused, then adopted on request', async () => {
    await run('create', 'namespace', 'drift');
    await run('-n', 'drift', 'create', 'configmap', 'settings', '--from-literal=mode=fed');
    await waitFor('settings in member-a', () => find(MEMBERS[0]!, '-n', 'drift', 'get', 'configmap', 'settings'));
    await run(`--context=${MEMBERS[0]}`, '-n', 'drift', 'patch', 'configmap', 'settings', '-p', '{"data":{"mode":"edited-in-member"}}');
    await waitFor('the change put back', async () => ((await find<V1ConfigMap>(MEMBERS[0]!, '-n', 'drift', 'get', 'configmap', 'settings'))?.data?.mode === 'fed' ? true : undefined));
    await waitFor('a DriftCorrected event', async () => ((await events('drift', 'settings')).some((e) => e.reason === 'DriftCorrected' && e.message.includes(MEMBERS[0]!)) ? true : undefined));

    // member-b already has a "legacy" ConfigMap the federation did not create.
    await run(`--context=${MEMBERS[1]}`, '-n', 'drift', 'create', 'configmap', 'legacy', '--from-literal=owner=member');
    await run('-n', 'drift', 'create', 'configmap', 'legacy', '--from-literal=owner=federation');
    await waitFor('a Conflict event naming the adopt annotation', async () =>
      (await events('drift', 'legacy')).some((e) => e.reason === 'Conflict' && e.message.includes(MEMBERS[1]!) && e.message.includes(ANNOTATIONS.adopt)) ? true : undefined,
    );
    const record = await get<Propagation>(FED, '-n', 'drift', 'get', 'propagation', 'configmap.legacy');
    assert.equal(record.status.clusters.find((c) => c.cluster === MEMBERS[1])?.applied, false);
    assert.equal((await get<V1ConfigMap>(MEMBERS[1]!, '-n', 'drift', 'get', 'configmap', 'legacy')).data?.owner, 'member', 'left untouched');
    await run('-n', 'drift', 'annotate', 'configmap', 'legacy', `${ANNOTATIONS.adopt}=true`);
    await waitFor('legacy adopted', async () => ((await find<V1ConfigMap>(MEMBERS[1]!, '-n', 'drift', 'get', 'configmap', 'legacy'))?.data?.owner === 'federation' ? true : undefined));
  });

  test('deletion: copies go with the object, or stay when it asks to orphan them', async () => {
    await run('-n', 'drift', 'create', 'configmap', 'kept');
    await run('-n', 'drift', 'annotate', 'configmap', 'kept', `${ANNOTATIONS.orphan}=true`);
    await waitFor('kept in both', async () => ((await find(MEMBERS[0]!, '-n', 'drift', 'get', 'configmap', 'kept')) && (await find(MEMBERS[1]!, '-n', 'drift', 'get', 'configmap', 'kept')) ? true : undefined));
    await run('-n', 'drift', 'delete', 'configmap', 'kept', '--timeout=30s');
    await run('-n', 'drift', 'delete', 'configmap', 'settings', '--timeout=30s');
    for (const m of MEMBERS) {
      assert.ok(await find(m, '-n', 'drift', 'get', 'configmap', 'kept'), `orphaned copy stays in ${m}`);
      assert.equal(await find(m, '-n', 'drift', 'get', 'configmap', 'settings'), undefined, `copy deleted from ${m}`);
    }
  });

  test("a member that stops: its share moves to the other after the grace period, and back when it returns", async () => {
    await run('create', 'namespace', 'ha');
    await run('-n', 'ha', 'create', 'deployment', 'api', `--image=${NODE_IMAGE}`, '--replicas=4', '--', 'node', '-e', SERVER);
    await waitFor('2/2', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'api')) === 2 && (await replicasIn(MEMBERS[1]!, 'ha', 'api')) === 2 ? true : undefined));
    await node.planes.control('stop', MEMBERS[1]!, 'kube-apiserver');
    try {
      await waitFor('member-a runs all 4', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'api')) === 4 ? true : undefined));
      const record = await get<Propagation>(FED, '-n', 'ha', 'get', 'propagation', 'deployment.apps.api');
      assert.deepEqual(record.status.clusters.map((c) => c.cluster), [MEMBERS[0]]);
    } finally {
      await node.planes.control('start', MEMBERS[1]!, 'kube-apiserver');
    }
    await waitFor('back to 2/2', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'api')) === 2 && (await replicasIn(MEMBERS[1]!, 'ha', 'api')) === 2 ? true : undefined), 90_000);
  });

  test("the member role: exactly the propagated kinds and the health endpoints, no wildcards", async () => {
    const roles = await get<{ items: V1ClusterRole[] }>(MEMBERS[0]!, 'get', 'clusterroles', '-l', `federation.kubectl-federation.io/cluster=${MEMBERS[0]}`);
    assert.equal(roles.items.length, 1);
    const rules = roles.items[0]!.rules ?? [];
    for (const r of rules) {
      for (const field of [r.apiGroups, r.resources, r.verbs, r.nonResourceURLs]) assert.ok(!(field ?? []).includes('*'), JSON.stringify(r));
    }
    assert.deepEqual(rules.find((r) => r.nonResourceURLs)?.nonResourceURLs, ['/readyz', '/livez', '/healthz']);
    assert.ok(rules.some((r) => r.apiGroups?.[0] === 'apps' && r.resources?.includes('deployments') && r.verbs.includes('watch')));
    // What the role allows is what the federation's identity can do there, and no more.
    const accounts = await get<{ items: { metadata: { name: string } }[] }>(MEMBERS[0]!, '-n', 'federation-system', 'get', 'serviceaccounts', '-l', `federation.kubectl-federation.io/cluster=${MEMBERS[0]}`);
    const as = `--as=system:serviceaccount:federation-system:${accounts.items[0]!.metadata.name}`;
    const canI = async (...args: string[]) => (await kubectl(env, `--context=${MEMBERS[0]}`, 'auth', 'can-i', ...args, as)).stdout.trim();
    assert.equal(await canI('create', 'deployments.apps', '-n', 'any'), 'yes');
    assert.equal(await canI('create', 'pods', '-n', 'any'), 'no');
    assert.equal(await canI('get', 'secrets', '-n', 'kube-system'), 'yes', 'Secrets are a propagated kind');
    assert.equal(await canI('delete', 'nodes'), 'no');
  });

  test('unjoin leaves propagated workloads running and says so; --delete-propagated removes them', async () => {
    await waitFor('ha/api in member-b', () => find(MEMBERS[1]!, '-n', 'ha', 'get', 'deployment', 'api'));
    const left = await runCli(['unjoin', MEMBERS[1]!, `--kubeconfig=${kubeconfig}`]);
    assert.equal(left.code, 0, left.stderr);
    assert.match(left.stderr, /left \d+ objects the federation propagated into cluster member-b running there/);
    assert.ok(await find(MEMBERS[1]!, '-n', 'ha', 'get', 'deployment', 'api'), 'still there');
    const rejoined = await runCli(['join', MEMBERS[1]!, '--cluster-labels=name=member-b,zone=z1', `--kubeconfig=${kubeconfig}`]);
    assert.equal(rejoined.code, 0, rejoined.stderr);
    const removed = await runCli(['unjoin', MEMBERS[1]!, '--delete-propagated', `--kubeconfig=${kubeconfig}`]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /Removed \d+ objects the federation had propagated into cluster member-b/);
    await waitFor('ha gone from member-b', async () => ((await find(MEMBERS[1]!, '-n', 'ha', 'get', 'deployment', 'api')) ? undefined : true));
  });
});
