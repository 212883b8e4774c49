// `make bench`, propagation: 1,000 ConfigMaps and 100 Deployments applied to a federation of 10
// member planes, against the manual way (kubectl apply --server-side of the same objects to each
// member in turn), measured in the same run; create-to-present latency in every member; the
// controller manager's cost once everything is in place. Members are real planes (their
// kube-controller-manager makes the Deployments' ReplicaSets); no pods run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Reflector } from '../../controller-manager/runtime/reflector.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { CONTROLLER_ENV, CONTROLLER_NODE_FLAGS } from '../../shared/manifests/controller-manager.ts';
import { PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { installFederationAPI, kubeconfigFor, memberToken, storeMemberSecret } from '../support/federation.ts';
import { kubeConfigFor } from '../support/kube.ts';
import { startPlanes } from '../support/localcluster.ts';
import { kubectlBin, repoRoot } from '../support/paths.ts';
import { cpuSeconds, fmt, percentile, rssMB } from './measure.ts';
import { stageLabel, stagesBench } from './stages.ts';

const MEMBERS = 10;
const CONFIGMAPS = 1000;
const DEPLOYMENTS = 100;
const LATENCY_SAMPLES = 60;

function objects(namespace: string): object[] {
  const out: object[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }];
  for (let i = 0; i < CONFIGMAPS; i++) out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace }, data: { index: String(i), payload: 'x'.repeat(200) } });
  for (let i = 0; i < DEPLOYMENTS; i++) {
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `web-${i}`, namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: `web-${i}` } },
        template: { metadata: { labels: { app: `web-${i}` } }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } },
      },
    });
  }
  return out;
}

function writeYAML(list: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-propagation-')), 'objects.yaml');
  writeFileSync(file, list.map((o) => stringify(o)).join('---\n'));
  return file;
}


/** `stagesOnly` (BENCH_ONLY=stages): the staged rollout alone, on the same planes. */
export async function propagationBench(line: (s?: string) => void, stagesOnly = false): Promise<void> {
  const names = Array.from({ length: MEMBERS }, (_, i) => `m${i}`);
  line(`== propagation: ${CONFIGMAPS} ConfigMaps and ${DEPLOYMENTS} Deployments, ${MEMBERS} member planes`);
  const planes = await startPlanes(['fed', ...names]);
  // The federation API server runs no controllers of its own, as init deploys it.
  await planes.control('stop', 'fed', 'kube-controller-manager');
  const kc = Kubeconfig.load(planes.kubeconfig);
  const clients = new Map<string, RestClient>();
  for (const n of ['fed', ...names]) clients.set(n, new RestClient(await credentialsFor(kc.resolve(n))));
  let controller: ReturnType<typeof spawn> | undefined;
  const watches = new AbortController();
  try {
    // The manual way: the same objects applied with kubectl to each member in turn.
    const manualFile = writeYAML(objects('manual'));
    const began = performance.now();
    for (const n of stagesOnly ? [] : names) {
      const r = spawnSync(kubectlBin, ['--kubeconfig', planes.kubeconfig, '--context', n, 'apply', '--server-side', '-f', manualFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`kubectl apply to ${n}: ${r.stderr}`);
    }
    const manualMs = performance.now() - began;

    // The federation: members joined (credentials stored as join stores them), the controller
    // manager from the bundle init ships.
    await installFederationAPI(planes.kubeconfig, 'fed');
    for (const n of names) {
      const member = kubeConfigFor(planes.kubeconfig, n);
      spawnSync(kubectlBin, ['--kubeconfig', planes.kubeconfig, '--context', n, 'create', 'clusterrolebinding', 'bench-federation', '--clusterrole=cluster-admin', `--serviceaccount=default:fed-${n}`]);
      const cluster = member.getCurrentCluster()!;
      await storeMemberSecret(kubeConfigFor(planes.kubeconfig, 'fed'), 'federation-system', n, {
        'ca.crt': Buffer.from(cluster.caData!, 'base64').toString(),
        token: await memberToken(member, `fed-${n}`),
      });
      await clients.get('fed')!.request('POST', '/apis/core.federation.kubectl-federation.io/v1beta1/clusters', {
        body: {
          apiVersion: 'core.federation.kubectl-federation.io/v1beta1',
          kind: 'Cluster',
          metadata: { name: n, labels: { stage: stageLabel(names.indexOf(n)) } },
          spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: cluster.server }], secretRef: { name: n } },
        },
      });
    }
    const fedKubeconfig = kubeconfigFor(planes.kubeconfig, 'fed');
    controller = spawn(
      process.execPath,
      [...CONTROLLER_NODE_FLAGS, join(repoRoot, 'dist', 'controller-manager.cjs'), `--kubeconfig=${fedKubeconfig}`, '--federation-name=fed', '--leader-elect=false', '--healthz-port=0', '--cluster-monitor-period=2s', '--resync-period=20s', '--v=2'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...CONTROLLER_ENV } },
    );
    let log = '';
    controller.stderr!.on('data', (c: Buffer) => {
      log += c.toString();
      if (process.env.BENCH_DEBUG) process.stderr.write(c);
    });
    const fed = clients.get('fed')!;
    await poll(
      async () => {
        const list = await fed.get<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>('/apis/core.federation.kubectl-federation.io/v1beta1/clusters');
        const ready = list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
        return ready === MEMBERS ? done(true) : notYet(`${ready} Ready`);
      },
      { what: 'every member Ready', timeoutMs: 60_000, intervalMs: 500 },
    );

    if (stagesOnly) {
      await stagesBench({ names, clients, line, signal: watches.signal });
      return;
    }
    // Every member's copies, as they arrive (the time each is first seen).
    const arrived = new Map<string, Map<string, number>>();
    for (const n of names) {
      const seen = new Map<string, number>();
      arrived.set(n, seen);
      const paths = ['fed', 'plain', 'ovr'].flatMap((ns) => [`/api/v1/namespaces/${ns}/configmaps`, `/apis/apps/v1/namespaces/${ns}/deployments`]);
      for (const path of [...paths, '/api/v1/namespaces/latency/configmaps']) {
        const r = new Reflector<{ kind?: string; metadata: { name: string; namespace?: string } }>(clients.get(n)!, path, (type, obj) => {
          const key = `${path}/${obj.metadata.name}`;
          if (type !== 'DELETED' && !seen.has(key)) seen.set(key, performance.now());
        }, { labelSelector: `${PROPAGATED_BY_LABEL}`, log: () => undefined });
        void r.run(watches.signal);
      }
    }
    const fedFile = writeYAML(objects('fed'));
    const cpuBefore = cpuSeconds(controller.pid!);
    const t0 = performance.now();
    const applied = spawnSync(kubectlBin, ['--kubeconfig', planes.kubeconfig, '--context', 'fed', 'apply', '--server-side', '-f', fedFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (applied.status !== 0) throw new Error(`kubectl apply to the federation: ${applied.stderr}`);
    const total = CONFIGMAPS + DEPLOYMENTS;
    await poll(
      async () => {
        const counts = names.map((n) => [...arrived.get(n)!.keys()].filter((k) => k.includes('/namespaces/fed/')).length);
        return counts.every((c) => c === total) ? done(true) : notYet(`present: ${counts.join(', ')} of ${total}`);
      },
      { what: 'every object in every member', timeoutMs: 600_000, intervalMs: 100 },
    );
    const fedMs = performance.now() - t0;
    const controllerCpu = cpuSeconds(controller.pid!) - cpuBefore;
    line(`  by hand: kubectl apply --server-side to each of ${MEMBERS} members in turn: ${fmt(manualMs / 1000, 1)} s`);
    line(`  federation: kubectl apply --server-side once, until present in all ${MEMBERS}: ${fmt(fedMs / 1000, 1)} s; ratio ${fmt(fedMs / manualMs)}x (target: <= 1.00x); the controller manager used ${fmt(controllerCpu, 1)} CPU s of it`);

    // Overrides: the same objects into two more namespaces, one plain and one with 100 Overrides
    // over its objects (50 Deployments' images and env, 50 ConfigMaps' labels, for half the
    // members), each applied once the controller is idle: the cost of rendering, as a ratio.
    const idleNow = () => [...log.matchAll(/propagation: \d+ reconciles, \d+ member requests in the last \d+ms \(queue (\d+);/g)].slice(-2).map((m) => m[1]).join() === '0,0';
    const timed = async (namespace: string, extra: object[]) => {
      await poll(async () => (idleNow() ? done(true) : notYet('the controller is busy')), { what: 'the controller manager to be idle', timeoutMs: 120_000, intervalMs: 500 });
      const file = writeYAML([...objects(namespace).slice(0, 1), ...extra, ...objects(namespace).slice(1)]);
      const began = performance.now();
      const r = spawnSync(kubectlBin, ['--kubeconfig', planes.kubeconfig, '--context', 'fed', 'apply', '--server-side', '-f', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`kubectl apply to the federation: ${r.stderr}`);
      await poll(
        async () => {
          const counts = names.map((n) => [...arrived.get(n)!.keys()].filter((k) => k.includes(`/namespaces/${namespace}/`)).length);
          return counts.every((c) => c === total) ? done(true) : notYet(`present: ${counts.join(', ')} of ${total}`);
        },
        { what: `every object of ${namespace} in every member`, timeoutMs: 600_000, intervalMs: 100 },
      );
      return performance.now() - began;
    };
    const half = names.slice(0, MEMBERS / 2);
    const overrides = Array.from({ length: 100 }, (_, i) => ({
      apiVersion: 'core.federation.kubectl-federation.io/v1beta1',
      kind: 'Override',
      metadata: { name: `ov-${i}`, namespace: 'ovr' },
      spec:
        i < 50
          ? { resourceSelectors: [{ kind: 'Deployment', name: `web-${i}` }], rules: [{ clusters: half, image: { registry: 'mirror.example' }, env: { set: { REGION: 'a' } } }] }
          : { resourceSelectors: [{ kind: 'ConfigMap', name: `cm-${i}` }], rules: [{ clusters: half, labels: { set: { tier: 'b' } } }] },
    }));
    const plainMs = await timed('plain', []);
    const overriddenMs = await timed('ovr', overrides);
    line(`  the same objects again, plain: ${fmt(plainMs / 1000, 1)} s; with 100 Overrides over them: ${fmt(overriddenMs / 1000, 1)} s; ratio ${fmt(overriddenMs / plainMs)}x (target: <= 1.05x)`);

    // Create-to-present, measured once the controller is idle (its queue empty: the members'
    // controllers have settled the Deployments' statuses): one object at a time, from the moment
    // the federation took it.
    const idle = () => [...log.matchAll(/propagation: \d+ reconciles, \d+ member requests in the last \d+ms \(queue (\d+);/g)].slice(-2).map((m) => m[1]);
    await poll(async () => (idle().join() === '0,0' ? done(true) : notYet('the controller is busy')), {
      what: 'the controller manager to be idle',
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await fed.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'latency' } } });
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      await fed.request('POST', '/api/v1/namespaces/latency/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `l-${i}` }, data: { i: String(i) } } });
      const created = performance.now();
      const key = `/api/v1/namespaces/latency/configmaps/l-${i}`;
      const last = await poll(
        async () => {
          const times = names.map((n) => arrived.get(n)!.get(key));
          return times.every((t) => t !== undefined) ? done(Math.max(...(times))) : notYet('not everywhere yet');
        },
        { what: `l-${i} in every member`, timeoutMs: 30_000, intervalMs: 5 },
      );
      latencies.push(last - created);
      await new Promise((r) => setTimeout(r, 50));
    }
    line(`  create-to-present in all ${MEMBERS} members: p50 ${fmt(percentile(latencies, 50), 0)} ms, p99 ${fmt(percentile(latencies, 99), 0)} ms (target p99 < 2000 ms)`);

    // Staged rollouts: the gate's latency.
    await stagesBench({ names, clients, line, signal: watches.signal });

    // Steady state: everything in place, a resync every 20 s; measure 40 s.
    await new Promise((r) => setTimeout(r, 5000));
    const pid = controller.pid!;
    const cpu0 = cpuSeconds(pid);
    const m0 = performance.now();
    const logFrom = log.length;
    let rss = 0;
    while (performance.now() - m0 < 40_000) {
      rss = Math.max(rss, rssMB(pid));
      await new Promise((r) => setTimeout(r, 500));
    }
    const cores = (cpuSeconds(pid) - cpu0) / ((performance.now() - m0) / 1000);
    const requests = [...log.slice(logFrom).matchAll(/propagation: \d+ reconciles, (\d+) member requests in the last (\d+)ms/g)].reduce((s, m) => s + Number(m[1]), 0);
    line(`  controller manager, idle with resyncs every 20 s: ${fmt(cores, 3)} cores (target < 0.5), RSS ${fmt(rss, 0)} MB (target < 250)`);
    line(`  member requests per resync per member: ${fmt(requests / 2 / MEMBERS, 1)} for ${total} objects (the members' watches say what changed; a resync only compares)`);
  } finally {
    watches.abort();
    controller?.kill('SIGTERM');
    for (const c of clients.values()) c.close();
    await planes.stop();
  }
}
