// Propagation against real local control planes whose pods really run: the federation plane runs
// only etcd and kube-apiserver (as init's federation does: no controllers of its own), two members
// each get a node of the local pod runner, so their Deployments become Available for real. The
// controller manager runs from the very code init ships; members are joined with our join command,
// so the member role it creates (no wildcards) is what propagation works with. Users' steps are plain
// kubectl against the federation context.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1ClusterRole, V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { NODE_IMAGE } from '../../shared/constants.ts';
import type { Propagation } from '../../shared/manifests/federation-api.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { DEFAULT_PROPAGATED_KINDS } from '../../shared/propagation/kinds.ts';
import { pluginPath, runCli } from '../support/cli.ts';
import { federationOn, type RunningController, startController, testControllerArgs } from '../support/federation.ts';
import { kubectl, kubectlJSON } from '../support/kubectl.ts';
import { type LocalNode, REGION_MIRRORS, startLocalNode } from '../support/local-node.ts';
import { podTestsSkip } from '../support/netns.ts';
import { kubectlBin } from '../support/paths.ts';
import { pluginEnv } from '../support/plugin-path.ts';
import { userSteps } from '../support/user-steps.ts';

const skip = podTestsSkip();
const FED = 'federation';
const MEMBERS = ['member-a', 'member-b'];
/** A tiny HTTP server with a readiness probe, in the Node.js image init already uses. */
const SERVER = "require('http').createServer((q, r) => r.end('ok')).listen(8080)";
const GRACE_S = 20;
interface Event {
  reason: string;
  message: string;
  type: string;
  count?: number;
}
interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

describe('propagation', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;
  let kubeconfig: string;
  let controller: RunningController;

  before(async () => {
    // Slot 1: addresses and Service ranges apart from the pod tests' (slot 0), which may run at the
    // same time in this network namespace. The members' nodes serve their Service IPs; the
    // federation's node runs no pods and serves none.
    node = await startLocalNode({ names: [FED, ...MEMBERS], memberNodes: MEMBERS, slot: 1, serveServices: false, lifetimeMs: 20 * 60_000 });
    // The federation API server runs no controllers of its own, as init deploys it.
    kubeconfig = await federationOn(node.planes, node.dir, FED);
    env = pluginEnv(kubeconfig);
    controller = await startController([
      ...testControllerArgs(kubeconfig, FED),
      `--rebalance-grace-period=${GRACE_S}s`,
      // A custom kind whose CRD does not exist yet when the controller starts.
      `--propagated-kinds=${DEFAULT_PROPAGATED_KINDS},widgets.example.com`,
      '--deletion-timeout=10s',
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

  const { run, find, waitFor, apply } = userSteps(() => env, () => node.dir, () => controller?.log(), 60_000);

  after(async () => {
    // The whole controller log, for a failure the last lines do not explain.
    if (process.env.CONTROLLER_LOG) writeFileSync(process.env.CONTROLLER_LOG, controller?.log() ?? '');
    await controller?.stop();
    await node?.stop();
  });

  const get = <T>(context: string, ...args: string[]) => kubectlJSON<T>(env, `--context=${context}`, ...args);
  const replicasIn = async (member: string, ns: string, name: string) => (await find<V1Deployment>(member, '-n', ns, 'get', 'deployment', name))?.spec?.replicas;
  const events = async (ns: string, name: string) =>
    (await get<{ items: Event[] }>(FED, '-n', ns, 'get', 'events', '--field-selector', `involvedObject.name=${name}`)).items;
  const condition = (obj: { status?: { conditions?: Condition[] } } | undefined, type: string) => obj?.status?.conditions?.find((c) => c.type === type);
  const record = (ns: string, name: string) => find<Propagation>(FED, '-n', ns, 'get', 'propagation', name);

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
    // A Service applied to the federation answers on each member's own cluster IP, on its nodes.
    await run('-n', 'shop', 'expose', 'deployment', 'web', '--port=80', '--target-port=8080');
    for (const m of MEMBERS) {
      const svc = await waitFor(`the Service in ${m}`, () => find<{ spec?: { clusterIP?: string } }>(m, '-n', 'shop', 'get', 'service', 'web'));
      const ip = svc.spec?.clusterIP ?? '';
      const answer = await waitFor(`${m}'s cluster IP ${ip} answers`, async () => {
        try {
          return await (await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(2000) })).text();
        } catch {
          return undefined;
        }
      }, 30_000);
      assert.equal(answer, 'ok', `${m} serves its own Service IP`);
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

  test('placement: namespace selector, an object selector that narrows it, and one that cannot widen it', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'placed', annotations: { [ANNOTATIONS.clusterSelector]: 'name=member-b' } } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ns-wide', namespace: 'placed' }, data: { a: '1' } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'narrow', namespace: 'placed', annotations: { [ANNOTATIONS.clusterSelector]: 'zone in (z1)' } }, data: { a: '1' } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'own', namespace: 'placed', annotations: { [ANNOTATIONS.clusterSelector]: 'zone in (z0)' } }, data: { a: '1' } });
    await waitFor('ns-wide and narrow in member-b', async () =>
      (await find(MEMBERS[1]!, '-n', 'placed', 'get', 'configmap', 'ns-wide')) && (await find(MEMBERS[1]!, '-n', 'placed', 'get', 'configmap', 'narrow')) ? true : undefined,
    );
    // "own" asks for member-a, which its namespace does not select: it goes nowhere, and says why.
    const nowhere = await waitFor('the record of own says no cluster matches both selectors', async () => {
      const r = await record('placed', 'configmap.own');
      return /its namespace's and the object's .*"name=member-b,zone in \(z0\)"/.test(r?.status.message ?? '') ? r : undefined;
    });
    assert.deepEqual(nowhere.status.clusters ?? [], []);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await find(MEMBERS[0]!, '-n', 'placed', 'get', 'configmap', 'ns-wide'), undefined);
    assert.equal(await find(MEMBERS[0]!, '-n', 'placed', 'get', 'configmap', 'own'), undefined, 'never widened');
    await run('-n', 'placed', 'delete', 'configmap', 'own', 'narrow');
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


  test('nothing selected: the record and one Event say why, the Deployment is not Available, rollout status ends', async () => {
    await run('create', 'namespace', 'nowhere');
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'nowhere', annotations: { [ANNOTATIONS.clusterSelector]: 'zone=z9' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER] }] } } },
    });
    const rec = await waitFor('a record with the reason', async () => ((await record('nowhere', 'deployment.apps.web'))?.status?.message ? await record('nowhere', 'deployment.apps.web') : undefined));
    assert.match(rec.status.message!, /no Ready cluster matches the object's .*cluster-selector "zone=z9"/);
    assert.match(rec.status.message!, /member-a \(Ready; name=member-a,zone=z0\)/);
    assert.equal(rec.status.clusterNames, '');
    await waitFor('one NoClusterSelected Event', async () => ((await events('nowhere', 'web')).some((e) => e.reason === 'NoClusterSelected' && e.type === 'Warning' && e.message.includes('zone=z9')) ? true : undefined));
    const d = await get<V1Deployment & { status?: { conditions?: Condition[] } }>(FED, '-n', 'nowhere', 'get', 'deployment', 'web');
    assert.equal(condition(d, 'Available')?.status, 'False');
    assert.equal(condition(d, 'Available')?.reason, 'NoClustersSelected');
    // kubectl's rollout status fails on one reason only; it ends at once instead of waiting forever.
    const began = Date.now();
    const rollout = await kubectl(env, '-n', 'nowhere', 'rollout', 'status', 'deployment/web', '--timeout=60s');
    assert.notEqual(rollout.code, 0);
    assert.match(rollout.stderr, /exceeded its progress deadline/);
    assert.ok(Date.now() - began < 30_000, 'ended, not timed out');
    for (const m of MEMBERS) assert.equal(await find(m, '-n', 'nowhere', 'get', 'deployment', 'web'), undefined);
    // Once a cluster matches, it runs there and the reason is gone.
    await run('-n', 'nowhere', 'annotate', 'deployment', 'web', '--overwrite', `${ANNOTATIONS.clusterSelector}=zone=z0`);
    await waitFor('placed on member-a', () => find(MEMBERS[0]!, '-n', 'nowhere', 'get', 'deployment', 'web'));
    await waitFor('the reason gone from the record', async () => ((await record('nowhere', 'deployment.apps.web'))?.status?.message === undefined ? true : undefined));
    await run('delete', 'namespace', 'nowhere', '--timeout=90s');
  });

  test('never propagated: a user-made token Secret and a controller-owned object are told why, once, and stay home', async () => {
    await run('create', 'namespace', 'home');
    await run('-n', 'home', 'create', 'serviceaccount', 'bot');
    await apply({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 'bot-token', namespace: 'home', annotations: { 'kubernetes.io/service-account.name': 'bot' } } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: 'home', ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: '6d1c2a3e-0000-4000-8000-000000000001', controller: true }] }, data: { a: '1' } });
    await run('-n', 'home', 'create', 'configmap', 'plain', '--from-literal=a=1');
    await waitFor('plain propagated (so the others had their turn)', () => find(MEMBERS[0]!, '-n', 'home', 'get', 'configmap', 'plain'));
    const token = await waitFor('the token Secret\'s record', () => record('home', 'secret.bot-token'));
    assert.match(token.status.message ?? '', /^not propagated: a service-account-token Secret/);
    const owned = await waitFor('the owned ConfigMap\'s record', () => record('home', 'configmap.owned'));
    assert.match(owned.status.message ?? '', /controller owner \(Widget w\)/);
    const told = await waitFor('NotPropagated Events', async () => {
      const e = [...(await events('home', 'bot-token')), ...(await events('home', 'owned'))].filter((x) => x.reason === 'NotPropagated');
      return e.length >= 2 ? e : undefined;
    });
    assert.equal(told.length, 2, 'once each');
    for (const m of MEMBERS) {
      assert.equal(await find(m, '-n', 'home', 'get', 'secret', 'bot-token'), undefined);
      assert.equal(await find(m, '-n', 'home', 'get', 'configmap', 'owned'), undefined);
    }
    // An update is no second telling.
    await run('-n', 'home', 'label', 'configmap', 'owned', 'touched=yes');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await events('home', 'owned')).filter((x) => x.reason === 'NotPropagated').length, 1);
  });

  test('adopting takes the whole object: the copy equals what a fresh create would be', async () => {
    await run(`--context=${MEMBERS[0]}`, 'create', 'namespace', 'adopt');
    await run(`--context=${MEMBERS[0]}`, '-n', 'adopt', 'create', 'configmap', 'whole', '--from-literal=mode=member', '--from-literal=extra=stale');
    await run(`--context=${MEMBERS[0]}`, '-n', 'adopt', 'label', 'configmap', 'whole', 'member-only=yes');
    await run('create', 'namespace', 'adopt');
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'whole', namespace: 'adopt', annotations: { [ANNOTATIONS.adopt]: 'true' } }, data: { mode: 'fed' } });
    const copy = await waitFor('whole adopted', async () => {
      const c = await find<V1ConfigMap>(MEMBERS[0]!, '-n', 'adopt', 'get', 'configmap', 'whole');
      return c?.data?.mode === 'fed' ? c : undefined;
    });
    assert.deepEqual(copy.data, { mode: 'fed' }, 'the key the federation does not have is gone');
    assert.equal(copy.metadata?.labels?.['member-only'], undefined, 'and so is the label');
    assert.ok(copy.metadata?.labels?.[PROPAGATED_BY_LABEL]);
    assert.ok((await events('adopt', 'whole')).some((e) => e.reason === 'Adopted'));
    // The namespace itself existed in member-a: adopt is refused for it, whatever its annotation says.
    await run('annotate', 'namespace', 'adopt', `${ANNOTATIONS.adopt}=true`);
    await waitFor('adopt refused for the Namespace', async () =>
      (await get<{ items: Event[] }>(FED, '-n', 'default', 'get', 'events', '--field-selector', 'involvedObject.name=adopt,involvedObject.kind=Namespace')).items.some(
        (e) => e.reason === 'Conflict' && /adopt is refused for Namespaces/.test(e.message),
      ) ? true : undefined,
    );
    assert.equal((await find<{ metadata?: { labels?: Record<string, string> } }>(MEMBERS[0]!, 'get', 'namespace', 'adopt'))?.metadata?.labels?.[PROPAGATED_BY_LABEL], undefined, 'not taken over');
    await run('delete', 'namespace', 'adopt', '--timeout=90s');
  });

  test('no false alarms: quick updates and a Role with its RoleBinding raise nothing; every copy deleted in a member is put back and said', async () => {
    await run('create', 'namespace', 'quiet');
    await run('-n', 'quiet', 'create', 'configmap', 'quick', '--from-literal=n=0');
    for (let i = 1; i <= 30; i++) await run('-n', 'quiet', 'patch', 'configmap', 'quick', '-p', JSON.stringify({ data: { n: String(i) } }));
    await waitFor('the last update in both members', async () => {
      const got = await Promise.all(MEMBERS.map((m) => find<V1ConfigMap>(m, '-n', 'quiet', 'get', 'configmap', 'quick')));
      return got.every((c) => c?.data?.n === '30') ? true : undefined;
    });
    // A replace of the same content is no drift either.
    const current = await get<V1ConfigMap>(FED, '-n', 'quiet', 'get', 'configmap', 'quick');
    const file = join(node.dir, 'quick.json');
    writeFileSync(file, JSON.stringify(current));
    await run('replace', '-f', file);
    // One multi-document apply: a Role and a RoleBinding to it (the binding may reach a member first).
    const rbac = join(node.dir, 'rbac.yaml');
    writeFileSync(
      rbac,
      [
        JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'readers', namespace: 'quiet' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' }, subjects: [{ kind: 'User', name: 'jane' }] }),
        JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader', namespace: 'quiet' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] }),
      ].join('\n---\n'),
    );
    await run('apply', '-f', rbac);
    await waitFor('the RoleBinding in both members', async () => ((await Promise.all(MEMBERS.map((m) => find(m, '-n', 'quiet', 'get', 'rolebinding', 'readers')))).every(Boolean) ? true : undefined));
    await new Promise((r) => setTimeout(r, 3000));
    const alarms = (await get<{ items: Event[] }>(FED, '-n', 'quiet', 'get', 'events')).items.filter((e) => e.reason === 'DriftCorrected' || e.type === 'Warning');
    assert.deepEqual(alarms.map((e) => `${e.reason}: ${e.message}`), [], 'nobody touched a member');
    // Someone deletes three copies in member-a: each is made again, and each says so.
    for (const n of ['one', 'two', 'three']) await run('-n', 'quiet', 'create', 'configmap', n);
    await waitFor('three copies in member-a', async () => ((await Promise.all(['one', 'two', 'three'].map((n) => find(MEMBERS[0]!, '-n', 'quiet', 'get', 'configmap', n)))).every(Boolean) ? true : undefined));
    await run(`--context=${MEMBERS[0]}`, '-n', 'quiet', 'delete', 'configmap', 'one', 'two', 'three');
    await waitFor('all three back, each with its Event', async () => {
      const back = (await Promise.all(['one', 'two', 'three'].map((n) => find(MEMBERS[0]!, '-n', 'quiet', 'get', 'configmap', n)))).every(Boolean);
      const said = await Promise.all(['one', 'two', 'three'].map(async (n) => (await events('quiet', n)).some((e) => e.reason === 'DriftCorrected' && /deleted in the member and made again/.test(e.message) && e.message.includes(MEMBERS[0]!))));
      return back && said.every(Boolean) ? true : undefined;
    });
  });

  test('a copy that belongs to another federation: the Conflict names it and what adopt would do', async () => {
    await run(`--context=${MEMBERS[1]}`, 'create', 'namespace', 'theirs');
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'theirs' } });
    await run(
      `--context=${MEMBERS[1]}`,
      '-n',
      'theirs',
      'create',
      'configmap',
      'shared',
      '--from-literal=owner=other',
    );
    await run(`--context=${MEMBERS[1]}`, '-n', 'theirs', 'label', 'configmap', 'shared', `${PROPAGATED_BY_LABEL}=zzzzzz`, 'federation.kubectl-federation.io/name=other-fed');
    await run('-n', 'theirs', 'create', 'configmap', 'shared', '--from-literal=owner=us');
    await waitFor('a Conflict naming the other federation', async () =>
      (await events('theirs', 'shared')).some((e) => e.reason === 'Conflict' && /another federation's copy \(federation other-fed, id zzzzzz\)/.test(e.message) && /take it away from that federation/.test(e.message)) ? true : undefined,
    );
    assert.equal((await get<V1ConfigMap>(MEMBERS[1]!, '-n', 'theirs', 'get', 'configmap', 'shared')).data?.owner, 'other', 'left untouched');
    await run('delete', 'namespace', 'theirs', '--timeout=90s');
  });

  test('a rollout failing in several members names each of them', async () => {
    await run('create', 'namespace', 'broken');
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bad', namespace: 'broken' },
      spec: {
        replicas: 2,
        progressDeadlineSeconds: 5,
        selector: { matchLabels: { app: 'bad' } },
        template: { metadata: { labels: { app: 'bad' } }, spec: { containers: [{ name: 'main', image: 'registry.invalid/none:1' }] } },
      },
    });
    const rollout = await kubectl(env, '-n', 'broken', 'rollout', 'status', 'deployment/bad', '--timeout=120s');
    assert.notEqual(rollout.code, 0, rollout.stdout);
    assert.match(rollout.stderr, /exceeded its progress deadline/);
    const d = await waitFor('both members named', async () => {
      const got = await get<{ status?: { conditions?: Condition[] } }>(FED, '-n', 'broken', 'get', 'deployment', 'bad');
      const m = condition(got, 'Progressing')?.message ?? '';
      return MEMBERS.every((x) => m.includes(`cluster ${x}:`)) ? got : undefined;
    });
    assert.equal(condition(d, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    await run('delete', 'namespace', 'broken', '--timeout=90s');
  });

  test("a member that stops: counts not summed while it is out, its share moves when the grace period ends (not at a resync), and back when it returns", async () => {
    await run('create', 'namespace', 'ha');
    await run('-n', 'ha', 'create', 'deployment', 'api', `--image=${NODE_IMAGE}`, '--replicas=4', '--', 'node', '-e', SERVER);
    await waitFor('2/2', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'api')) === 2 && (await replicasIn(MEMBERS[1]!, 'ha', 'api')) === 2 ? true : undefined));
    assert.equal((await kubectl(env, '-n', 'ha', 'rollout', 'status', 'deployment/api', '--timeout=120s')).code, 0);
    const readyAt = async () => {
      const c = await get<{ status?: { conditions?: Condition[] } }>(FED, 'get', 'cluster', MEMBERS[1]!);
      const ready = condition(c, 'Ready');
      return ready?.status === 'True' ? undefined : Date.parse(ready?.lastTransitionTime ?? '');
    };
    await node.planes.control('stop', MEMBERS[1]!, 'kube-apiserver');
    try {
      const since = await waitFor('member-b not Ready', readyAt);
      // Created while member-b is out: its share is kept for it until the grace period ends, and the
      // record says until when.
      await run('-n', 'ha', 'create', 'deployment', 'late', `--image=${NODE_IMAGE}`, '--replicas=4', '--', 'node', '-e', SERVER);
      const kept = await waitFor('the record keeps member-b\'s share, saying until when', async () => {
        const r = await record('ha', 'deployment.apps.late');
        return r?.status.clusters.find((c) => c.cluster === MEMBERS[1] && c.keptUntil) ? r : undefined;
      });
      const until = Date.parse(kept.status.clusters.find((c) => c.cluster === MEMBERS[1])!.keptUntil!);
      assert.ok(Math.abs(until - (since + GRACE_S * 1000)) < 2000, `kept until the grace period's end (${new Date(until).toISOString()})`);
      assert.match(kept.status.clusters.find((c) => c.cluster === MEMBERS[1])!.error ?? '', /kept for it until/);
      // Meanwhile the federation does not count member-b's last-known replicas as ready.
      const during = await get<V1Deployment & { status?: { conditions?: Condition[] } }>(FED, '-n', 'ha', 'get', 'deployment', 'api');
      if (Date.now() < until) {
        assert.ok((during.status?.readyReplicas ?? 0) <= 2, `ready ${during.status?.readyReplicas}: member-b's 2 are not counted`);
        assert.equal(condition(during, 'Available')?.status, 'False');
        assert.match(condition(during, 'Available')?.message ?? '', /cluster member-b is unreachable/);
      }
      // The share moves when the grace period ends: seconds after it, not at the 5-minute resync.
      await waitFor('member-a runs all 4 of late', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'late')) === 4 ? true : undefined), 30_000);
      assert.ok(Date.now() - until < 15_000, `moved ${Math.round((Date.now() - until) / 1000)}s after the grace period ended`);
      await waitFor('member-a runs all 4 of api', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'api')) === 4 ? true : undefined), 30_000);
      const rec = await get<Propagation>(FED, '-n', 'ha', 'get', 'propagation', 'deployment.apps.api');
      assert.deepEqual(rec.status.clusters.map((c) => c.cluster), [MEMBERS[0]]);
      // The combined status covers the members that run it now: rollout status returns.
      const rollout = await kubectl(env, '-n', 'ha', 'rollout', 'status', 'deployment/api', '--timeout=90s');
      assert.equal(rollout.code, 0, rollout.stderr);
    } finally {
      await node.planes.control('start', MEMBERS[1]!, 'kube-apiserver');
    }
    await waitFor('back to 2/2', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'api')) === 2 && (await replicasIn(MEMBERS[1]!, 'ha', 'api')) === 2 ? true : undefined), 90_000);
    await waitFor('late back to 2/2', async () => ((await replicasIn(MEMBERS[0]!, 'ha', 'late')) === 2 && (await replicasIn(MEMBERS[1]!, 'ha', 'late')) === 2 ? true : undefined), 30_000);
  });


  test('custom kinds: a CRD whose kind is not listed says how to list it; a listed kind joins before its CRD reaches the member and follows it within seconds', async () => {
    const crd = (plural: string, kind: string, annotations: Record<string, string> = {}) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.example.com`, annotations },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
      },
    });
    await apply(crd('gadgets', 'Gadget'));
    await waitFor('a KindNotPropagated Event on the gadgets CRD', async () =>
      (await get<{ items: Event[] }>(FED, '-n', 'default', 'get', 'events', '--field-selector', 'involvedObject.name=gadgets.example.com')).items.some(
        (e) => e.reason === 'KindNotPropagated' && e.message.includes('--propagated-kinds=...,gadgets.example.com'),
      ) ? true : undefined,
    );
    // widgets.example.com is listed; the federation serves it from now on, member-a not yet (the CRD
    // goes to member-b only, for now).
    await apply(crd('widgets', 'Widget', { [ANNOTATIONS.clusterSelector]: 'name=member-b' }));
    await waitFor('the federation and member-b serve widgets', async () =>
      (await kubectl(env, 'get', 'widgets.example.com', '-A')).code === 0 && (await kubectl(env, `--context=${MEMBERS[1]}`, 'get', 'widgets.example.com', '-A')).code === 0 ? true : undefined,
    );
    assert.notEqual((await kubectl(env, `--context=${MEMBERS[0]}`, 'get', 'widgets.example.com', '-A')).code, 0, 'member-a does not serve it yet');
    const joined = await runCli(['join', MEMBERS[0]!, '--cluster-labels=name=member-a,zone=z0', `--propagated-kinds=${DEFAULT_PROPAGATED_KINDS},widgets.example.com`, `--kubeconfig=${kubeconfig}`]);
    assert.equal(joined.code, 0, `join accepts a kind the federation serves: ${joined.stderr}`);
    await run('create', 'namespace', 'custom');
    await apply({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'custom', annotations: { [ANNOTATIONS.clusterSelector]: 'name=member-a' } }, spec: { size: 3 } });
    await waitFor('the Widget\'s record says member-a does not serve it yet', async () =>
      (await record('custom', 'widget.example.com.w1'))?.status.clusters.some((c) => c.cluster === MEMBERS[0] && /does not serve widgets/.test(c.error ?? '')) ? true : undefined,
    );
    // Now the CRD goes to every member.
    await run('annotate', 'crd', 'widgets.example.com', `${ANNOTATIONS.clusterSelector}-`);
    const established = await waitFor('the widgets CRD established in member-a', async () => {
      const c = await find<{ status?: { conditions?: Condition[] } }>(MEMBERS[0]!, 'get', 'crd', 'widgets.example.com');
      const e = condition(c, 'Established');
      return e?.status === 'True' ? Date.parse(e.lastTransitionTime ?? '') : undefined;
    });
    const w = await waitFor('the Widget in member-a', () => find<{ spec?: { size?: number } }>(MEMBERS[0]!, '-n', 'custom', 'get', 'widgets.example.com', 'w1'), 30_000);
    assert.equal(w.spec?.size, 3);
    assert.ok(Date.now() - established < 10_000, `followed ${Math.round((Date.now() - established) / 1000)}s after its CRD was established`);
    const rec = await waitFor('the Widget\'s record says 1/1', async () => ((await record('custom', 'widget.example.com.w1'))?.status.applied === '1/1' ? true : undefined));
    assert.ok(rec);
    await run('delete', 'namespace', 'custom', '--timeout=90s');
    assert.equal(await find(MEMBERS[0]!, '-n', 'custom', 'get', 'widgets.example.com', 'w1'), undefined);
  });

  test('safe defaults: member namespaces enforce Pod Security (the namespace\'s own level, else baseline), so a privileged pod written in the federation is refused in the member', async () => {
    await run('create', 'namespace', 'tenant');
    await run('create', 'namespace', 'strict');
    await run('label', 'namespace', 'strict', 'pod-security.kubernetes.io/enforce=restricted');
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'priv', namespace: 'tenant', annotations: { [ANNOTATIONS.clusterSelector]: 'name=member-a' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'priv' } },
        template: { metadata: { labels: { app: 'priv' } }, spec: { containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER], securityContext: { privileged: true } }] } },
      },
    });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'strict' }, data: { a: '1' } });
    const level = async (ns: string) => (await find<{ metadata?: { labels?: Record<string, string> } }>(MEMBERS[0]!, 'get', 'namespace', ns))?.metadata?.labels?.['pod-security.kubernetes.io/enforce'];
    await waitFor('tenant enforces baseline in member-a', async () => ((await level('tenant')) === 'baseline' ? true : undefined));
    await waitFor('strict keeps its own level in member-a', async () => ((await level('strict')) === 'restricted' ? true : undefined));
    const refused = await waitFor('the privileged pod refused by member-a', async () => {
      const rs = await find<{ items: { status?: { conditions?: Condition[] } }[] }>(MEMBERS[0]!, '-n', 'tenant', 'get', 'replicasets');
      return rs?.items.flatMap((r) => r.status?.conditions ?? []).find((c) => c.type === 'ReplicaFailure' && /violates PodSecurity "baseline/.test(c.message ?? ''));
    });
    assert.match(refused.message ?? '', /privileged/);
    assert.equal(node.memberRunners.get(MEMBERS[0]!)!.pods().filter((w) => w.pod.metadata?.namespace === 'tenant').length, 0, 'no pod runs');
    await run('delete', 'namespace', 'tenant', 'strict', '--timeout=90s');
  });

  test("overrides: each member runs its region mirror's image with its own env and replicas, an Ingress host per region by JSON patch; edited, deleted; a bad rule refused at apply, one that fails only when rendered reported", async () => {
    await run('create', 'namespace', 'ov');
    const [eu, us] = REGION_MIRRORS;
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'ov' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER], env: [{ name: 'MODE', value: 'base' }] }] } },
      },
    });
    await apply({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'ov' }, spec: { rules: [{ host: 'web.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace: 'ov' }, data: { a: '1' } });
    const regions = {
      apiVersion: 'core.federation.kubectl-federation.io/v1beta1',
      kind: 'Override',
      metadata: { name: 'regions', namespace: 'ov' },
      spec: {
        resourceSelectors: [{ kind: 'Deployment', name: 'web' }],
        rules: [
          { clusterSelector: 'zone=z0', image: { registry: eu }, env: { set: { REGION: 'eu' } }, replicas: 3 },
          { clusterSelector: 'zone in (z1)', image: { registry: us }, env: { set: { REGION: 'us' }, remove: ['MODE'] } },
        ],
      },
    };
    await apply(regions);
    await apply({
      apiVersion: 'core.federation.kubectl-federation.io/v1beta1',
      kind: 'Override',
      metadata: { name: 'hosts', namespace: 'ov' },
      spec: { resourceSelectors: [{ kind: 'Ingress' }], rules: [{ clusters: [MEMBERS[0]!], jsonPatch: [{ op: 'replace', path: '/spec/rules/0/host', value: 'eu.web.example' }] }] },
    });
    type Dep = { spec: { replicas: number; template: { spec: { containers: { image: string; env?: { name: string; value: string }[] }[] } } } };
    const shape = async (m: string) => {
      const d = await find<Dep>(m, '-n', 'ov', 'get', 'deployment', 'web');
      const c = d?.spec.template.spec.containers[0];
      return d && c ? `${c.image} ${(c.env ?? []).map((e) => `${e.name}=${e.value}`).join(',')} x${d.spec.replicas}` : undefined;
    };
    const tag = NODE_IMAGE.slice('docker.io/'.length);
    await waitFor('each member its own image, env and replicas', async () =>
      (await shape(MEMBERS[0]!)) === `${eu}/${tag} MODE=base,REGION=eu x3` && (await shape(MEMBERS[1]!)) === `${us}/${tag} REGION=us x1` ? true : undefined,
    );
    // What ran is what each mirror's image maps to in the pod runner: 3 pods in member-a, 1 in member-b.
    const running = (m: string) => node.memberRunners.get(m)!.pods().filter((w) => w.pod.metadata?.namespace === 'ov').map((w) => w.pod.spec?.containers[0]?.image);
    await waitFor('pods of each mirror run', async () => (running(MEMBERS[0]!).filter((i) => i === `${eu}/${tag}`).length === 3 && running(MEMBERS[1]!).filter((i) => i === `${us}/${tag}`).length === 1 ? true : undefined), 90_000);
    const host = async (m: string) => (await find<{ spec: { rules: { host: string }[] } }>(m, '-n', 'ov', 'get', 'ingress', 'web'))?.spec.rules[0]?.host;
    await waitFor('a host per region', async () => ((await host(MEMBERS[0]!)) === 'eu.web.example' && (await host(MEMBERS[1]!)) === 'web.example' ? true : undefined));
    const rec = await waitFor('the record names the Override per member', async () => {
      const r = await record('ov', 'deployment.apps.web');
      return r?.status.clusters.find((c) => c.cluster === MEMBERS[0])?.overrides?.includes('regions') ? r : undefined;
    });
    assert.deepEqual(rec.status.clusters.find((c) => c.cluster === MEMBERS[1])?.overrides, ['regions']);
    assert.match(await run('-n', 'ov', 'get', 'overrides'), /^regions\s+Deployment\s/m);
    // Edited: the copies follow; deleted: they are as if it never was.
    regions.spec.rules[0]!.env = { set: { REGION: 'europe' } };
    await apply(regions);
    await waitFor('the edit reaches member-a', async () => ((await shape(MEMBERS[0]!))?.includes('REGION=europe') ? true : undefined));
    await run('-n', 'ov', 'delete', 'override', 'regions');
    await waitFor('the copies as without it', async () =>
      (await shape(MEMBERS[0]!)) === `${NODE_IMAGE} MODE=base x1` && (await shape(MEMBERS[1]!)) === `${NODE_IMAGE} MODE=base x1` ? true : undefined,
    );
    // A rule with no operation: refused at apply by the schema, nothing stored.
    const bad = join(node.dir, 'bad-override.json');
    writeFileSync(bad, JSON.stringify({ ...regions, metadata: { name: 'empty', namespace: 'ov' }, spec: { resourceSelectors: [{ kind: 'Deployment' }], rules: [{ clusterSelector: 'zone=z0' }] } }));
    const refused = await kubectl(env, 'apply', '-f', bad);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /a rule needs an operation: image, env, command, args, labels, annotations, replicas or jsonPatch/);
    // An image rule on a ConfigMap fails only when rendered: the copy stays, one Event says why.
    await apply({ apiVersion: 'core.federation.kubectl-federation.io/v1beta1', kind: 'Override', metadata: { name: 'wrong', namespace: 'ov' }, spec: { resourceSelectors: [{ kind: 'ConfigMap', name: 'plain' }], rules: [{ image: { tag: 'v2' } }] } });
    await run('-n', 'ov', 'patch', 'configmap', 'plain', '--type=merge', '-p', '{"data":{"a":"2"}}');
    const said = await waitFor('InvalidOverride', async () => (await events('ov', 'plain')).find((e) => e.reason === 'InvalidOverride' && e.message.includes(MEMBERS[0]!)));
    assert.match(said.message, /Override wrong, rule 1: ConfigMap plain has no containers .*its copy there is left as it was: fix the Override \(kubectl -n ov edit override wrong\)/);
    assert.equal((await find<V1ConfigMap>(MEMBERS[0]!, '-n', 'ov', 'get', 'configmap', 'plain'))?.data?.a, '1', 'left as it was');
    await run('-n', 'ov', 'delete', 'override', 'wrong');
    await waitFor('the change arrives once the Override is gone', async () => ((await find<V1ConfigMap>(MEMBERS[0]!, '-n', 'ov', 'get', 'configmap', 'plain'))?.data?.a === '2' ? true : undefined));
    // A ClusterOverride for a cluster-scoped object: a ClusterRole labelled in member-b only.
    await apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'ov-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] });
    await apply({ apiVersion: 'core.federation.kubectl-federation.io/v1beta1', kind: 'ClusterOverride', metadata: { name: 'reader-b' }, spec: { resourceSelectors: [{ kind: 'ClusterRole', name: 'ov-reader' }], rules: [{ clusters: [MEMBERS[1]!], labels: { set: { tier: 'b' } } }] } });
    const tier = async (m: string) => (await find<{ metadata: { labels?: Record<string, string> } }>(m, 'get', 'clusterrole', 'ov-reader'))?.metadata.labels?.tier;
    await waitFor('the ClusterRole labelled in member-b only', async () => ((await tier(MEMBERS[1]!)) === 'b' && (await find(MEMBERS[0]!, 'get', 'clusterrole', 'ov-reader')) && (await tier(MEMBERS[0]!)) === undefined ? true : undefined));
    await run('delete', 'clusteroverride', 'reader-b');
    await run('delete', 'clusterrole', 'ov-reader');
    await run('delete', 'namespace', 'ov', '--timeout=90s');
  });

  test('dependencies follow: the ConfigMap and Secret a Deployment uses go only where its selector places it, and move with it; one no workload uses goes everywhere', async () => {
    await run('create', 'namespace', 'deps');
    await run('-n', 'deps', 'create', 'configmap', 'cfg', '--from-literal=greeting=hello');
    await run('-n', 'deps', 'create', 'secret', 'generic', 'sec', '--from-literal=token=s3cret');
    await run('-n', 'deps', 'create', 'configmap', 'lonely', '--from-literal=a=1');
    const deployment = (member: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app', namespace: 'deps', annotations: { [ANNOTATIONS.clusterSelector]: `name=${member}` } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'deps' } },
        template: {
          metadata: { labels: { app: 'deps' } },
          spec: {
            containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER], envFrom: [{ secretRef: { name: 'sec' } }], volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] }],
            volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
          },
        },
      },
    });
    await apply(deployment(MEMBERS[1]!));
    const where = async (kind: string, name: string) => {
      const at: string[] = [];
      for (const m of MEMBERS) if (await find(m, '-n', 'deps', 'get', kind, name)) at.push(m);
      return at.join(',');
    };
    await waitFor('cfg and sec in member-b only, lonely in both', async () =>
      (await where('configmap', 'cfg')) === MEMBERS[1] && (await where('secret', 'sec')) === MEMBERS[1] && (await where('configmap', 'lonely')) === MEMBERS.join(',') ? true : undefined,
    );
    await waitFor('the pod that uses them runs in member-b', async () => (node.memberRunners.get(MEMBERS[1]!)!.pods().some((w) => w.pod.metadata?.namespace === 'deps') ? true : undefined), 90_000);
    const rec = await waitFor('the record says who placed cfg', async () => {
      const r = await record('deps', 'configmap.cfg');
      return r?.status.placedBy ? r : undefined;
    });
    assert.deepEqual(rec.status.placedBy, ['Deployment/app']);
    // The workload moves: what it uses moves with it, and leaves where nothing needs it.
    await apply(deployment(MEMBERS[0]!));
    await waitFor('cfg and sec moved to member-a', async () => ((await where('configmap', 'cfg')) === MEMBERS[0] && (await where('secret', 'sec')) === MEMBERS[0] ? true : undefined));
    await run('delete', 'namespace', 'deps', '--timeout=90s');
  });

  test('drift modes: Report leaves a change made in a member and names its fields; removing it repairs; a field left to the member keeps its value there', async () => {
    await run('create', 'namespace', 'dm');
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'reported', namespace: 'dm', annotations: { [ANNOTATIONS.drift]: 'Report' } }, data: { a: '1' } });
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: 'dm', annotations: { [ANNOTATIONS.memberOwned]: '/data/b' } }, data: { a: '1', b: 'fed' } });
    const data = async (name: string) => (await find<V1ConfigMap>(MEMBERS[0]!, '-n', 'dm', 'get', 'configmap', name))?.data;
    await waitFor('both in member-a', async () => ((await data('reported')) && (await data('shared')) ? true : undefined));
    await run(`--context=${MEMBERS[0]}`, '-n', 'dm', 'patch', 'configmap', 'reported', '--type=merge', '-p', '{"data":{"a":"member"}}');
    const said = await waitFor('DriftDetected', async () => (await events('dm', 'reported')).find((e) => e.reason === 'DriftDetected'));
    assert.match(said.message, new RegExp(`^cluster ${MEMBERS[0]}: ConfigMap dm/reported differs in the member at /data/a; left as it is`));
    const rec = await waitFor('the record says so', async () => (await record('dm', 'configmap.reported'))?.status.clusters.find((c) => c.cluster === MEMBERS[0] && /differs in the member/.test(c.error ?? '')));
    assert.equal(rec.applied, true);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await data('reported'))?.a, 'member', 'left as the member has it');
    await run('-n', 'dm', 'annotate', 'configmap', 'reported', `${ANNOTATIONS.drift}-`);
    await waitFor('repaired once Report is gone', async () => ((await data('reported'))?.a === '1' ? true : undefined));
    // A field left to the member: its change stays; the federation's other fields still arrive.
    await run(`--context=${MEMBERS[0]}`, '-n', 'dm', 'patch', 'configmap', 'shared', '--type=merge', '-p', '{"data":{"b":"member"}}');
    await run('-n', 'dm', 'patch', 'configmap', 'shared', '--type=merge', '-p', '{"data":{"a":"2"}}');
    await waitFor('a arrives, b stays the member\'s', async () => {
      const d = await data('shared');
      return d?.a === '2' && d.b === 'member' ? true : undefined;
    });
    assert.equal((await data('shared'))?.b, 'member');
    assert.equal((await events('dm', 'shared')).filter((e) => e.reason === 'DriftCorrected').length, 0, 'never corrected');
    await run('delete', 'namespace', 'dm', '--timeout=90s');
  });

  test('diff: what each member would receive beside what it has, in kubectl diff form and exit codes; nothing changed by it; none left after the apply', async () => {
    await run('create', 'namespace', 'df');
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf', namespace: 'df' }, data: { a: '1' } });
    await waitFor('conf in both', async () => ((await find(MEMBERS[0]!, '-n', 'df', 'get', 'configmap', 'conf')) && (await find(MEMBERS[1]!, '-n', 'df', 'get', 'configmap', 'conf')) ? true : undefined));
    const file = join(node.dir, 'df.yaml');
    const web = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'df' }, spec: { replicas: 2, selector: { matchLabels: { app: 'df' } }, template: { metadata: { labels: { app: 'df' } }, spec: { containers: [{ name: 'main', image: NODE_IMAGE, command: ['node', '-e', SERVER] }] } } } };
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf', namespace: 'df' }, data: { a: '2' } }, web] }));
    const before = await runCli(['diff', '-f', file, `--kubeconfig=${kubeconfig}`]);
    assert.equal(before.code, 1, before.stderr);
    for (const m of MEMBERS) {
      assert.match(before.stdout, new RegExp(`^--- /LIVE/${m}/core\\.v1\\.ConfigMap\\.df\\.conf`, 'm'));
      assert.match(before.stdout, new RegExp(`^\\+\\+\\+ /MERGED/${m}/apps\\.v1\\.Deployment\\.df\\.web`, 'm'));
    }
    assert.match(before.stdout, /^-\s+a: "1"$/m);
    assert.match(before.stdout, /^\+\s+a: "2"$/m);
    assert.match(before.stdout, /^\+\s+replicas: 1$/m, 'each member its share');
    const one = await runCli(['diff', '-f', file, `--cluster=${MEMBERS[0]}`, `--kubeconfig=${kubeconfig}`]);
    assert.equal(one.code, 1, one.stderr);
    assert.doesNotMatch(one.stdout, new RegExp(MEMBERS[1]!));
    assert.equal((await find<V1ConfigMap>(MEMBERS[0]!, '-n', 'df', 'get', 'configmap', 'conf'))?.data?.a, '1', 'diff changed nothing');
    assert.equal(await find(MEMBERS[0]!, '-n', 'df', 'get', 'deployment', 'web'), undefined, 'diff created nothing');
    await run('apply', '--server-side', '-f', file);
    await waitFor('applied in both', async () => {
      for (const m of MEMBERS) {
        if ((await find<V1ConfigMap>(m, '-n', 'df', 'get', 'configmap', 'conf'))?.data?.a !== '2') return undefined;
        if (!(await find(m, '-n', 'df', 'get', 'deployment', 'web'))) return undefined;
      }
      return true;
    });
    const after = await waitFor('no differences once applied', async () => {
      const r = await runCli(['diff', '-f', file, `--kubeconfig=${kubeconfig}`]);
      return r.code === 0 ? r : undefined;
    });
    assert.equal(after.stdout, '');
    // The other ways in: an object of the federation by KIND/NAME, stdin, a kustomization.
    const byName = await runCli(['diff', '-n', 'df', 'configmap/conf', `--kubeconfig=${kubeconfig}`]);
    assert.equal(byName.code, 0, byName.stderr + byName.stdout);
    const changed = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf', namespace: 'df' }, data: { a: '3' } });
    const cliEnv = { ...process.env, NO_COLOR: '1', PATH: `${dirname(kubectlBin)}:${process.env.PATH ?? ''}` };
    const viaStdin = spawnSync(process.execPath, [pluginPath, 'diff', '-f', '-', `--kubeconfig=${kubeconfig}`], { input: changed, env: cliEnv, encoding: 'utf8' });
    assert.equal(viaStdin.status, 1, viaStdin.stderr);
    assert.match(viaStdin.stdout, /^\+\s+a: "3"$/m);
    const kust = join(node.dir, 'kust');
    mkdirSync(kust, { recursive: true });
    writeFileSync(join(kust, 'conf.json'), changed);
    writeFileSync(join(kust, 'kustomization.yaml'), 'resources:\n- conf.json\n');
    const viaK = spawnSync(process.execPath, [pluginPath, 'diff', '-k', kust, `--cluster=${MEMBERS[1]}`, `--kubeconfig=${kubeconfig}`], { env: cliEnv, encoding: 'utf8' });
    assert.equal(viaK.status, 1, viaK.stderr);
    assert.match(viaK.stdout, new RegExp(`^\\+\\+\\+ /MERGED/${MEMBERS[1]}/core\\.v1\\.ConfigMap\\.df\\.conf`, 'm'));
    assert.match(viaK.stdout, /^\+\s+a: "3"$/m);
    const bad = await runCli(['diff', '-f', join(node.dir, 'missing.yaml'), `--kubeconfig=${kubeconfig}`]);
    assert.equal(bad.code, 2, 'an error is more than 1, as kubectl diff says');
    assert.match(bad.stderr, /^error: -f \S+missing\.yaml: no such file$/m);
    await run('delete', 'namespace', 'df', '--timeout=90s');
  });

  test("the member identity's rights, as `auth can-i --list` shows them: no write in kube-system, no Secret read, no workload outside propagated namespaces; its admission policy holds the rest", async () => {
    const roles = await get<{ items: V1ClusterRole[] }>(MEMBERS[0]!, 'get', 'clusterroles', '-l', `federation.kubectl-federation.io/cluster=${MEMBERS[0]}`);
    assert.equal(roles.items.length, 2, 'the cluster-wide role and the workload role');
    for (const r of roles.items.flatMap((x) => x.rules ?? [])) {
      for (const field of [r.apiGroups, r.resources, r.verbs, r.nonResourceURLs]) assert.ok(!(field ?? []).includes('*'), JSON.stringify(r));
    }
    const accounts = await get<{ items: { metadata: { name: string } }[] }>(MEMBERS[0]!, '-n', 'federation-system', 'get', 'serviceaccounts', '-l', `federation.kubectl-federation.io/cluster=${MEMBERS[0]}`);
    const sa = accounts.items[0]!.metadata.name;
    const as = `--as=system:serviceaccount:federation-system:${sa}`;
    /** `kubectl auth can-i --list` in a namespace: resource -> verbs. */
    const table = async (ns: string) => {
      const out = (await kubectl(env, `--context=${MEMBERS[0]}`, 'auth', 'can-i', '--list', '-n', ns, as)).stdout;
      const rows = new Map<string, string[]>();
      for (const line of out.split('\n').slice(1)) {
        const m = /^(\S+)\s+.*\[([^\]]*)\]\s*$/.exec(line.trim());
        if (m && !m[1]!.startsWith('/')) rows.set(m[1]!, [...(rows.get(m[1]!) ?? []), ...m[2]!.split(' ').filter(Boolean)]);
      }
      return { rows, out };
    };
    const writes = ['create', 'update', 'patch', 'delete'];
    const clusterScoped = new Set(['namespaces', 'customresourcedefinitions.apiextensions.k8s.io', 'clusterroles.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io', 'selfsubjectreviews.authentication.k8s.io', 'selfsubjectaccessreviews.authorization.k8s.io', 'selfsubjectrulesreviews.authorization.k8s.io', 'widgets.example.com']);
    const system = await table('kube-system');
    const namespacedWrites = [...system.rows].map(([r, verbs]) => [r, verbs.filter((v) => writes.includes(v))] as const).filter(([r, verbs]) => !clusterScoped.has(r) && verbs.length > 0);
    // The one write RBAC leaves in any namespace: the RoleBinding of its workload role, which the
    // admission policy refuses in kube-system (below).
    assert.deepEqual(namespacedWrites, [['rolebindings.rbac.authorization.k8s.io', ['create']]], system.out);
    assert.deepEqual(system.rows.get('secrets') ?? [], [], 'Secrets: not even read');
    assert.ok(system.rows.get('deployments.apps')?.includes('watch'), 'workloads read everywhere (the watches)');
    // Where the federation propagates ("ha" and the others of this file), the workload role is bound.
    const propagated = await table('ha');
    assert.deepEqual(propagated.rows.get('deployments.apps')?.filter((v) => writes.includes(v)).sort(), ['create', 'delete', 'patch', 'update']);
    assert.deepEqual(propagated.rows.get('secrets')?.sort(), ['create', 'delete', 'patch', 'update'], 'Secrets written, never read');
    assert.equal(propagated.rows.has('pods'), false, 'no pods of its own');
    // Each attempt as the identity, past RBAC: the member's admission policy says no.
    const attempt = async (...args: string[]) => kubectl(env, `--context=${MEMBERS[0]}`, ...args, as);
    const inSystem = await attempt('-n', 'kube-system', 'create', 'rolebinding', 'take-over', `--clusterrole=${roles.items.find((r) => r.metadata!.name!.endsWith(':workloads'))!.metadata!.name}`, `--serviceaccount=federation-system:${sa}`);
    assert.notEqual(inSystem.code, 0);
    assert.match(inSystem.stderr, /writes nothing in namespace kube-system/);
    await run(`--context=${MEMBERS[0]}`, 'create', 'namespace', 'members-own');
    await run(`--context=${MEMBERS[0]}`, '-n', 'members-own', 'create', 'secret', 'generic', 'db', '--from-literal=password=member');
    const overwrite = await attempt('-n', 'members-own', 'label', 'secret', 'db', 'taken=yes');
    assert.notEqual(overwrite.code, 0, 'no Secret of the member changed');
    const deleteNs = await attempt('delete', 'namespace', 'members-own');
    assert.match(deleteNs.stderr, /changes or deletes only the namespaces it created: members-own is not one/);
    const elsewhere = await attempt('-n', 'members-own', 'create', 'deployment', 'x', `--image=${NODE_IMAGE}`);
    assert.match(elsewhere.stderr, /forbidden/, 'no workload outside propagated namespaces');
    const token = await attempt('-n', 'ha', 'create', 'token', sa);
    assert.notEqual(token.code, 0, 'no token of another account, nor of its own outside its namespace');
    await run(`--context=${MEMBERS[0]}`, 'delete', 'namespace', 'members-own', '--wait=false');
    // The table the docs show ("Who may do what"), from this very run.
    if (process.env.CAN_I_TABLE) writeFileSync(process.env.CAN_I_TABLE, `# kube-system\n${system.out}\n# ha (a propagated namespace)\n${propagated.out}`);
  });

  test('a team with edit in one namespace of the federation: its objects follow the namespace, it cannot place them elsewhere, adopt, or change a Cluster, and its privileged pod is refused in the member', async () => {
    // The README's recipe, as the admin runs it: a namespace placed on member-a, edit in it for the team.
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', annotations: { [ANNOTATIONS.clusterSelector]: 'name=member-a' } } });
    await run('-n', 'team-a', 'create', 'rolebinding', 'team-a-edit', '--clusterrole=edit', '--group=team-a');
    const alice = async (...args: string[]) => kubectl(env, '--as=alice', '--as-group=team-a', ...args);
    const ok = async (...args: string[]) => {
      const r = await alice(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    await ok('-n', 'team-a', 'create', 'configmap', 'settings', '--from-literal=mode=a');
    // edit there covers the federation's own kinds of the namespace (aggregated by the controller manager).
    await ok('-n', 'team-a', 'get', 'propagations,overrides');
    await ok('-n', 'team-a', 'auth', 'can-i', 'create', 'overrides.core.federation.kubectl-federation.io');
    await waitFor('settings in member-a', () => find(MEMBERS[0]!, '-n', 'team-a', 'get', 'configmap', 'settings'));
    // Placing it elsewhere, by its own selector or the replica annotations: refused by the federation.
    const placed = await alice('-n', 'team-a', 'annotate', 'configmap', 'settings', `${ANNOTATIONS.clusterSelector}=name=member-b`);
    assert.notEqual(placed.code, 0);
    assert.match(placed.stderr, /only placement admins \(group kubectl-federation:placement-admins, or kubectl-federation:cluster-admins\) set or change propagation\.core\.federation\.kubectl-federation\.io\/cluster-selector/);
    const adopt = await alice('-n', 'team-a', 'annotate', 'configmap', 'settings', `${ANNOTATIONS.adopt}=true`);
    assert.match(adopt.stderr, /only placement admins .* set or change propagation\.core\.federation\.kubectl-federation\.io\/adopt/);
    const created = await alice('-n', 'team-a', 'create', 'configmap', 'elsewhere', '--from-literal=a=1', '--dry-run=client', '-o', 'json');
    const withSelector = JSON.parse(created.stdout) as { metadata: { annotations?: Record<string, string> } };
    withSelector.metadata.annotations = { [ANNOTATIONS.clusterSelector]: 'name=member-b' };
    const file = join(node.dir, 'elsewhere.json');
    writeFileSync(file, JSON.stringify(withSelector));
    assert.match((await alice('apply', '-f', file)).stderr, /only placement admins/, 'not at creation either');
    // Outside its namespace, and the Clusters: RBAC says no; a labeler may label, not re-point, a Cluster.
    assert.match((await alice('-n', 'default', 'create', 'configmap', 'x')).stderr, /forbidden/);
    assert.match((await alice('patch', 'cluster', MEMBERS[0]!, '--type=merge', '-p', '{"spec":{"secretRef":{"name":"mine"}}}')).stderr, /forbidden/);
    const labeler = async (...args: string[]) => kubectl(env, '--as=bob', '--as-group=kubectl-federation:cluster-labelers', ...args);
    assert.equal((await labeler('label', 'cluster', MEMBERS[0]!, 'tier=gold')).code, 0);
    const repoint = await labeler('patch', 'cluster', MEMBERS[0]!, '--type=json', '-p', '[{"op":"replace","path":"/spec/serverAddressByClientCIDRs/0/serverAddress","value":"https://203.0.113.9:6443"}]');
    assert.match(repoint.stderr, /only the federation's admins \(group kubectl-federation:cluster-admins\) join, unjoin or change a Cluster's spec/);
    assert.equal((await labeler('delete', 'cluster', MEMBERS[0]!)).code === 0, false, 'nor remove one');
    await run('label', 'cluster', MEMBERS[0]!, 'tier-');
    // A privileged pod the team writes in the federation is refused in the member (baseline there).
    await ok('-n', 'team-a', 'create', 'deployment', 'root', `--image=${NODE_IMAGE}`, '--', 'node', '-e', SERVER);
    await ok('-n', 'team-a', 'patch', 'deployment', 'root', '--type=json', '-p', '[{"op":"add","path":"/spec/template/spec/containers/0/securityContext","value":{"privileged":true}}]');
    await waitFor('the privileged pod refused by member-a', async () => {
      const rs = await find<{ items: { spec?: { template?: { spec?: { containers?: { securityContext?: { privileged?: boolean } }[] } } }; status?: { conditions?: Condition[] } }[] }>(MEMBERS[0]!, '-n', 'team-a', 'get', 'replicasets');
      return rs?.items.some((r) => r.spec?.template?.spec?.containers?.[0]?.securityContext?.privileged && r.status?.conditions?.some((c) => c.type === 'ReplicaFailure' && /violates PodSecurity "baseline/.test(c.message ?? ''))) ? true : undefined;
    });
    assert.equal(await find(MEMBERS[1]!, '-n', 'team-a', 'get', 'deployment', 'root'), undefined, 'and never reached a member its namespace does not select');
    await run('delete', 'namespace', 'team-a', '--timeout=90s');
  });

  test('unjoin leaves propagated workloads running and says so; --delete-propagated removes them, also after an unjoin that could not reach the member', async () => {
    await waitFor('ha/api in member-b', () => find(MEMBERS[1]!, '-n', 'ha', 'get', 'deployment', 'api'));
    const logBefore = controller.log().length;
    const left = await runCli(['unjoin', MEMBERS[1]!, `--kubeconfig=${kubeconfig}`]);
    assert.equal(left.code, 0, left.stderr);
    assert.match(left.stderr, /left \d+ objects the federation propagated into cluster member-b running there/);
    assert.match(left.stderr, /kubectl --context=member-b delete \S*deployments\.apps\S* --all-namespaces -l /, 'the real context');
    assert.ok(await find(MEMBERS[1]!, '-n', 'ha', 'get', 'deployment', 'api'), 'still there');
    await waitFor('the controller stops watching member-b', async () => (/cluster member-b: its \d+ watched kinds stopped/.test(controller.log().slice(logBefore)) ? true : undefined), 10_000);

    const rejoined = await runCli(['join', MEMBERS[1]!, '--cluster-labels=name=member-b,zone=z1', `--kubeconfig=${kubeconfig}`]);
    assert.equal(rejoined.code, 0, rejoined.stderr);
    await waitFor('the record says ha/api is applied in member-b again', async () =>
      (await record('ha', 'deployment.apps.api'))?.status.clusters.some((c) => c.cluster === MEMBERS[1] && c.applied) ? true : undefined,
    );
    // Unjoined while it cannot be reached: the federation's records say what is left there.
    await node.planes.control('stop', MEMBERS[1]!, 'kube-apiserver');
    try {
      const away = await runCli(['unjoin', MEMBERS[1]!, `--kubeconfig=${kubeconfig}`]);
      assert.equal(away.code, 0, away.stderr);
      assert.match(away.stderr, /left \d+ objects? the federation propagated into cluster member-b running there \(by the federation's records/);
      assert.match(away.stderr, /kubectl federation unjoin member-b --delete-propagated removes them, or: kubectl --context=member-b delete \S*deployment\.apps/);
    } finally {
      await node.planes.control('start', MEMBERS[1]!, 'kube-apiserver');
    }
    await waitFor('member-b answers again', async () => ((await kubectl(env, `--context=${MEMBERS[1]}`, 'get', 'namespace', 'ha')).code === 0 ? true : undefined), 90_000);
    assert.ok(await find(MEMBERS[1]!, '-n', 'ha', 'get', 'deployment', 'api'), 'left running');
    // Not joined any more, and --delete-propagated still finds and removes what was left.
    const removed = await runCli(['unjoin', MEMBERS[1]!, '--delete-propagated', `--kubeconfig=${kubeconfig}`]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^Removing what federation \S+ propagated into cluster member-b\.\.\. done \(\d+ objects removed\)$/m);
    await waitFor('ha gone from member-b', async () => ((await find(MEMBERS[1]!, '-n', 'ha', 'get', 'deployment', 'api')) ? undefined : true));
  });
});
