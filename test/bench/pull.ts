// `make bench`, pull mode: push and pull members of one federation on the same planes, the same
// objects placed on all of them; create-to-present for each kind of member (p50/p99 of one object
// at a time, and a burst of ConfigMaps until every member of a kind has them all), and what an
// agent costs (CPU and memory, busy and idle). Agents run as local processes of the shipped bundle
// (`controller-manager agent --member-kubeconfig`), with the token and rights join --pull gives.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Reflector } from '../../controller-manager/runtime/reflector.ts';
import { FEDERATION_API_VERSION } from '../../shared/constants.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { CONTROLLER_ENV, CONTROLLER_NODE_FLAGS } from '../../shared/manifests/controller-manager.ts';
import type { MemberNames } from '../../shared/manifests/member.ts';
import { readFederationId } from '../../shared/member-credentials.ts';
import { PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { installFederationAPI, kubeconfigFor, memberToken, pullMemberAgentKubeconfig, storeMemberSecret } from '../support/federation.ts';
import { kubeConfigFor } from '../support/kube.ts';
import { startPlanes } from '../support/localcluster.ts';
import { kubectlBin, repoRoot } from '../support/paths.ts';
import { cpuSeconds, fmt, percentile, rssMB } from './measure.ts';

const PUSH = ['push-0', 'push-1', 'push-2'];
const PULL = ['pull-0', 'pull-1', 'pull-2'];
const SAMPLES = 60;
const BURST = 500;
const FED = 'pf';

function spawnLogged(args: string[]): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, [...CONTROLLER_NODE_FLAGS, join(repoRoot, 'dist', 'controller-manager.cjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...CONTROLLER_ENV } });
  let text = '';
  child.stderr.on('data', (c: Buffer) => {
    text = (text + c.toString()).slice(-200_000);
    if (process.env.BENCH_DEBUG) process.stderr.write(c);
  });
  return { child, log: () => text };
}

export async function pullBench(line: (s?: string) => void): Promise<void> {
  const members = [...PUSH, ...PULL];
  line(`== pull mode: ${PUSH.length} push and ${PULL.length} pull members of one federation, the same objects placed on all`);
  const planes = await startPlanes([FED, ...members]);
  await planes.control('stop', FED, 'kube-controller-manager');
  const kc = Kubeconfig.load(planes.kubeconfig);
  const clients = new Map<string, RestClient>();
  for (const n of [FED, ...members]) clients.set(n, new RestClient(await credentialsFor(kc.resolve(n))));
  const fed = clients.get(FED)!;
  const processes: ChildProcess[] = [];
  const watches = new AbortController();
  try {
    await installFederationAPI(planes.kubeconfig, FED);
    // Push members as join makes them: credentials in the federation, a Cluster with the address.
    for (const n of PUSH) {
      const member = kubeConfigFor(planes.kubeconfig, n);
      spawnSync(kubectlBin, ['--kubeconfig', planes.kubeconfig, '--context', n, 'create', 'clusterrolebinding', 'bench-federation', '--clusterrole=cluster-admin', `--serviceaccount=default:fed-${n}`]);
      const cluster = member.getCurrentCluster()!;
      await storeMemberSecret(kubeConfigFor(planes.kubeconfig, FED), 'federation-system', n, { 'ca.crt': Buffer.from(cluster.caData!, 'base64').toString(), token: await memberToken(member, `fed-${n}`) });
      await fed.request('POST', `/apis/${FEDERATION_API_VERSION}/clusters`, {
        body: { apiVersion: FEDERATION_API_VERSION, kind: 'Cluster', metadata: { name: n }, spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: cluster.server }], secretRef: { name: n } } },
      });
    }
    // Pull members as token create and join --pull make them: the member's namespace, its agent's
    // account and Role in the federation, the Cluster; the agent with its own token.
    const federationId = await readFederationId(fed);
    const fedContext = kc.resolve(FED);
    const dir = mkdtempSync(join(tmpdir(), 'bench-pull-'));
    const agents: ChildProcess[] = [];
    for (const n of PULL) {
      const names: MemberNames = { federation: FED, federationId, cluster: n, namespace: 'federation-system' };
      const agentKubeconfig = join(dir, `${n}.kubeconfig`);
      await pullMemberAgentKubeconfig(fed, names, fedContext.cluster.server, Buffer.from(fedContext.cluster['certificate-authority-data'] ?? '', 'base64').toString(), agentKubeconfig);
      // As the controller manager's period below: the Lease says how long a renewal stands.
      const agent = spawnLogged(['agent', `--kubeconfig=${agentKubeconfig}`, `--member-kubeconfig=${kubeconfigFor(planes.kubeconfig, n)}`, `--cluster=${n}`, `--federation-name=${FED}`, `--federation-id=${federationId}`, '--heartbeat-period=2s', '--healthz-port=0']);
      agents.push(agent.child);
      processes.push(agent.child);
    }
    const controller = spawnLogged([`--kubeconfig=${kubeconfigFor(planes.kubeconfig, FED)}`, `--federation-name=${FED}`, '--leader-elect=false', '--healthz-port=0', '--cluster-monitor-period=2s', '--resync-period=20s', '--v=2']);
    processes.push(controller.child);
    await poll(
      async () => {
        const list = await fed.get<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(`/apis/${FEDERATION_API_VERSION}/clusters`);
        const ready = list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
        return ready === members.length ? done(true) : notYet(`${ready} Ready`);
      },
      { what: 'every member Ready', timeoutMs: 120_000, intervalMs: 500 },
    );

    // Every member's copies, as they arrive (the time each is first seen).
    const arrived = new Map<string, Map<string, number>>();
    for (const n of members) {
      const seen = new Map<string, number>();
      arrived.set(n, seen);
      for (const ns of ['burst', 'latency']) {
        const r = new Reflector<{ metadata: { name: string } }>(clients.get(n)!, `/api/v1/namespaces/${ns}/configmaps`, (type, obj) => {
          if (type !== 'DELETED' && !seen.has(`${ns}/${obj.metadata.name}`)) seen.set(`${ns}/${obj.metadata.name}`, performance.now());
        }, { labelSelector: PROPAGATED_BY_LABEL, log: () => undefined });
        void r.run(watches.signal);
      }
    }
    const usage = () => agents.map((a) => ({ cpu: cpuSeconds(a.pid!), rss: rssMB(a.pid!) }));

    // A burst: BURST ConfigMaps in one apply, until every member of a kind has them all.
    const file = join(dir, 'burst.yaml');
    writeFileSync(file, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'burst' } }, ...Array.from({ length: BURST }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `b-${i}`, namespace: 'burst' }, data: { i: String(i), payload: 'x'.repeat(200) } }))].map((o) => stringify(o)).join('---\n'));
    const before = usage();
    const t0 = performance.now();
    const applied = spawnSync(kubectlBin, ['--kubeconfig', planes.kubeconfig, '--context', FED, 'apply', '--server-side', '-f', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (applied.status !== 0) throw new Error(`kubectl apply to the federation: ${applied.stderr}`);
    const allIn = async (kind: string[]) => {
      await poll(async () => (kind.every((n) => [...arrived.get(n)!.keys()].filter((k) => k.startsWith('burst/')).length === BURST) ? done(true) : notYet('not all there')), {
        what: `${BURST} ConfigMaps in every member`,
        timeoutMs: 600_000,
        intervalMs: 50,
      });
      return performance.now() - t0;
    };
    const [pushBurst, pullBurst] = await Promise.all([allIn(PUSH), allIn(PULL)]);
    const burstCpu = usage().map((u, i) => u.cpu - before[i]!.cpu);
    line(`  ${BURST} ConfigMaps in one kubectl apply --server-side, until every member of a kind has all: push ${fmt(pushBurst / 1000, 1)} s, pull ${fmt(pullBurst / 1000, 1)} s; ratio pull/push ${fmt(pullBurst / pushBurst)}x`);
    line(`  an agent during the burst: ${fmt(Math.max(...burstCpu), 1)} CPU s at most (${fmt(Math.max(...burstCpu) / (pullBurst / 1000), 2)} cores over the burst), RSS ${fmt(Math.max(...usage().map((u) => u.rss)), 0)} MB at most`);

    // Create-to-present: one object at a time, from the moment the federation took it, to the last
    // member of each kind.
    await new Promise((r) => setTimeout(r, 5000));
    await fed.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'latency' } } });
    const latencies = { push: [] as number[], pull: [] as number[] };
    for (let i = 0; i < SAMPLES; i++) {
      await fed.request('POST', '/api/v1/namespaces/latency/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `l-${i}` }, data: { i: String(i) } } });
      const created = performance.now();
      const key = `latency/l-${i}`;
      const lastOf = (kind: string[]) =>
        poll(
          async () => {
            const times = kind.map((n) => arrived.get(n)!.get(key));
            return times.every((t) => t !== undefined) ? done(Math.max(...times)) : notYet('not everywhere yet');
          },
          { what: `l-${i} in every member`, timeoutMs: 30_000, intervalMs: 5 },
        );
      const [push, pull] = await Promise.all([lastOf(PUSH), lastOf(PULL)]);
      latencies.push.push(push - created);
      latencies.pull.push(pull - created);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const kind of ['push', 'pull'] as const) {
      line(`  create-to-present, ${kind} members: p50 ${fmt(percentile(latencies[kind], 50), 0)} ms, p99 ${fmt(percentile(latencies[kind], 99), 0)} ms (target p99 < 2000 ms; ${SAMPLES} samples)`);
    }

    // Idle: everything in place, heartbeats every 2 s; 30 s.
    await new Promise((r) => setTimeout(r, 5000));
    const idle0 = usage();
    const i0 = performance.now();
    let rss = 0;
    while (performance.now() - i0 < 30_000) {
      rss = Math.max(rss, ...usage().map((u) => u.rss));
      await new Promise((r) => setTimeout(r, 500));
    }
    const idleCores = Math.max(...usage().map((u, i) => u.cpu - idle0[i]!.cpu)) / ((performance.now() - i0) / 1000);
    line(`  an agent idle with ${BURST + SAMPLES} copies in place: ${fmt(idleCores, 3)} cores, RSS ${fmt(rss, 0)} MB (the most of ${PULL.length} agents)`);
  } finally {
    watches.abort();
    for (const p of processes) p.kill('SIGTERM');
    for (const c of clients.values()) c.close();
    await planes.stop();
  }
}
