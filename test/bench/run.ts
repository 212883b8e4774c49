// `make bench`: the project's performance, each figure next to a peer measured in the same run.
// Nothing here asserts a time: it prints, and people read.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FEDERATION_API_VERSION } from '../../shared/constants.ts';
import { CONTROLLER_ENV, CONTROLLER_NODE_FLAGS } from '../../shared/manifests/controller-manager.ts';
import { initConfigFromFlags } from '../../shared/init/options.ts';
import { runInit } from '../../shared/init/init.ts';
import { runJoin } from '../../shared/join/join.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { applyObject } from '../../shared/kube/apply.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { Output } from '../../shared/output.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { pluginPath } from '../support/cli.ts';
import { installFederationAPI, kubeconfigFor } from '../support/federation.ts';
import { kubeConfigFor } from '../support/kube.ts';
import { startPlanes } from '../support/localcluster.ts';
import { kubectlBin, repoRoot } from '../support/paths.ts';
import { playLoadBalancer, playPod, podIP } from '../support/stand-ins.ts';
import { cpuSeconds, fmt, median, rssMB, timeInterleaved } from './measure.ts';
import { propagationBench } from './propagation.ts';
import { pullBench } from './pull.ts';

const quiet = new Output({ stream: process.stdout, quiet: true });
const line = (s = '') => console.log(s);

function startup(): void {
  line('== start-up: kubectl federation --help and a usage error vs a bare Node 22 single binary (medians of 31, run in turn)');
  const binary = join(repoRoot, 'dist', 'bin', 'linux-x64', 'kubectl-federation');
  const floorBinary = join(repoRoot, 'dist', 'floor', 'floor');
  const single = existsSync(binary);
  const [cmd, base] = single ? [binary, [] as string[]] : [process.execPath, [pluginPath]];
  // The floor: a program that prints one line, built into a single executable as ours are.
  const floorThere = existsSync(floorBinary);
  const [help, usage, peer, floor] = timeInterleaved([
    { command: cmd, args: [...base, '--help'] },
    { command: cmd, args: [...base, 'bogus'], status: 2 },
    { command: kubectlBin, args: ['version', '--client'] },
    ...(floorThere ? [{ command: floorBinary, args: [] }] : []),
  ]);
  line(`  kubectl-federation --help (${single ? 'single binary' : 'bundle on Node 22'}): ${fmt(help!, 1)} ms`);
  line(`  kubectl-federation bogus (a usage error):  ${fmt(usage!, 1)} ms`);
  line(`  kubectl version --client (v1.37.2):        ${fmt(peer!, 1)} ms (--help ${fmt(help! / peer!)}x)`);
  if (floor !== undefined) {
    line(`  floor, a bare Node 22 single binary:       ${fmt(floor, 1)} ms`);
    line(`  ratio to the floor: --help ${fmt(help! / floor)}x, usage error ${fmt(usage! / floor)}x (target: <= 1.10x)`);
  } else line('  floor: not built (make dist-unsigned builds dist/floor/floor)');
}

function sizes(): void {
  line('== sizes (make dist)');
  const mb = (f: string) => statSync(f).size / 1048576;
  for (const platform of readdirSync(join(repoRoot, 'dist', 'bin'))) {
    const exe = readdirSync(join(repoRoot, 'dist', 'bin', platform)).find((f) => /^kubectl-federation(\.exe)?$/.test(f));
    if (exe) line(`  binary ${platform}/${exe}: ${fmt(mb(join(repoRoot, 'dist', 'bin', platform, exe)), 1)} MB`);
  }
  const release = join(repoRoot, 'dist', 'release');
  for (const a of readdirSync(release).filter((f) => f.endsWith('.tar.gz'))) {
    line(`  archive ${a}: ${fmt(mb(join(release, a)), 1)} MB (target: <= ~45 MB)`);
  }
}

function writeObjectsYAML(objects: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-objects-')), 'objects.yaml');
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return file;
}

async function initAndJoin(kubeconfigPath: string): Promise<void> {
  line('== init and join against local control planes');
  const kc = Kubeconfig.load(kubeconfigPath);
  const host = kubeConfigFor(kubeconfigPath, 'host');
  const cfg = initConfigFromFlags({ name: 'bench', hostContext: 'host', namespace: 'bench-system' });
  const ip = podIP();
  const standIns = (async () => {
    const lb = await playLoadBalancer(host, 'bench-system', 'apiserver', ip);
    const pod = await playPod(host, 'bench-system', 'apiserver', ip);
    return { lb, pod };
  })();
  const init = await runInit({ cfg, kubeconfig: kc, hostContext: kc.resolve('host'), dryRun: false, requestTimeoutMs: 30_000, out: quiet });
  const own = init.elapsedMs - init.waitedMs;

  // The peer: kubectl applying the same objects server-side (what a script would do instead).
  const dry = await runInit({ cfg: { ...cfg, namespace: 'bench-peer-system' }, kubeconfig: kc, hostContext: kc.resolve('host'), dryRun: true, requestTimeoutMs: 30_000, out: quiet });
  const hostObjects = dry.objects.filter((o) => o.apiVersion !== 'apiextensions.k8s.io/v1' && !o.kind.startsWith('Cluster'));
  const file = writeObjectsYAML(hostObjects);
  const began = performance.now();
  const applied = spawnSync(kubectlBin, ['--kubeconfig', kubeconfigPath, '--context', 'host', 'apply', '--server-side', '-f', file], { encoding: 'utf8' });
  const peer = performance.now() - began;
  if (applied.status !== 0) throw new Error(applied.stderr);
  line(`  init: ${init.requests - init.waitRequests} API requests of its own (and ${init.waitRequests} polls while waiting); own work ${fmt(own, 0)} ms (total ${fmt(init.elapsedMs, 0)} ms, of which waiting on the cluster ${fmt(init.waitedMs, 0)} ms)`);
  // Own work is the time outside the waits: what init does while the load balancer's address is
  // awaited (credentials, the controller manager) is inside that wait, and shortens the total.
  line('  (own work: the time outside waits; the steps that need no address run inside the load balancer wait)');
  line(`  peer: kubectl apply --server-side of the same ${hostObjects.length} host objects: ${fmt(peer, 0)} ms`);
  line(`  ratio init own work / peer: ${fmt(own / peer)}x (targets: own work < 300 ms for a single-replica plane, requests <= ~30)`);

  // join: the member's identity, the host Secret and the Cluster.
  const joinTimes: number[] = [];
  let requests = 0;
  for (const [i, member] of ['member-1', 'member-1', 'member-1'].entries()) {
    const began = performance.now();
    const r = await runJoin({ kubeconfig: Kubeconfig.load(kubeconfigPath), cluster: member, federationContext: 'bench', hostContext: 'host', namespace: 'bench-system', clusterServer: Kubeconfig.load(kubeconfigPath).resolve(member).cluster.server, useKubeconfigCredentials: false, dryRun: false, out: quiet, requestTimeoutMs: 30_000 });
    joinTimes.push(performance.now() - began);
    if (i === 0) requests = r.requests;
  }
  const joinPeerFile = writeObjectsYAML(
    (await runJoin({ kubeconfig: Kubeconfig.load(kubeconfigPath), cluster: 'member-1', federationContext: 'bench', hostContext: 'host', namespace: 'bench-system', clusterServer: Kubeconfig.load(kubeconfigPath).resolve('member-1').cluster.server, useKubeconfigCredentials: false, dryRun: true, out: quiet, requestTimeoutMs: 30_000 })).objects.filter((o) => o.kind !== 'Cluster' && o.metadata.namespace !== 'bench-system'),
  );
  const peerBegan = performance.now();
  spawnSync(kubectlBin, ['--kubeconfig', kubeconfigPath, '--context', 'member-1', 'apply', '--server-side', '-f', joinPeerFile], { encoding: 'utf8' });
  const joinPeer = performance.now() - peerBegan;
  line(`  join: first ${fmt(joinTimes[0]!, 0)} ms (${requests} requests, includes waiting for the token), re-run median ${fmt(median(joinTimes.slice(1)), 0)} ms`);
  line(`  peer: kubectl apply --server-side of join's member objects: ${fmt(joinPeer, 0)} ms; ratio ${fmt(joinTimes[0]! / joinPeer)}x (target: join < 100 ms)`);
  const { lb, pod } = await standIns;
  await pod.stop();
  lb.close();
  // An HA plane needs its pods really running (etcd's members elect, the rollout is awaited): in a
  // child process that makes a network namespace of its own for the pod runner.
  const ha = spawnSync(process.execPath, [join(repoRoot, 'test', 'bench', 'ha-init.ts')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const l of ha.stdout.split('\n').filter(Boolean)) line(l);
  if (ha.status !== 0) line(`  init --ha: the measurement failed (exit ${ha.status})`);
}

async function controller(kubeconfigPath: string, members: number): Promise<void> {
  line(`== controller manager: ${members} simulated members, probed every 10s`);
  const sim = spawn(process.execPath, [join(repoRoot, 'test', 'bench', 'sim-members.ts'), String(members)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const { ports, ca } = await new Promise<{ ports: number[]; ca: string }>((resolve) => {
    let out = '';
    sim.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as { ports: number[]; ca: string });
    });
  });
  const ns = `bench-${members}`;
  const kc = Kubeconfig.load(kubeconfigPath);
  const client = new RestClient(await credentialsFor(kc.resolve('federation')));
  await applyObject(client, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  for (let i = 0; i < ports.length; i += 50) {
    await Promise.all(
      ports.slice(i, i + 50).map(async (port, j) => {
        const name = `sim-${members}-${i + j}`;
        await applyObject(client, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data: { 'ca.crt': b64(ca), token: b64('sim-token') } });
        await applyObject(client, {
          apiVersion: FEDERATION_API_VERSION,
          kind: 'Cluster',
          metadata: { name, labels: { bench: ns } },
          spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `https://127.0.0.1:${port}` }], secretRef: { name } },
        });
      }),
    );
  }
  const fedKubeconfig = kubeconfigFor(kubeconfigPath, 'federation');
  const cm = spawn(
    process.execPath,
    // Run as the Deployment runs it: the same Node flags and environment.
    [...CONTROLLER_NODE_FLAGS, join(repoRoot, 'dist', 'controller-manager.cjs'), `--kubeconfig=${fedKubeconfig}`, `--federation-namespace=${ns}`, '--cluster-monitor-period=10s', '--leader-elect=false', '--healthz-port=0', '--v=2', '--controllers=health'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...CONTROLLER_ENV } },
  );
  // Probes per period, as the controller reports them at --v=2: every member once is on time.
  const perPeriod: number[] = [];
  cm.stderr.on('data', (c: Buffer) => {
    if (process.env.BENCH_DEBUG) process.stderr.write(c);
    for (const m of c.toString().matchAll(/health: probed (\d+) members in the last/g)) perPeriod.push(Number(m[1]));
  });
  await poll(
    async () => {
      const list = await client.get<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(`/apis/${FEDERATION_API_VERSION}/clusters`, { query: { labelSelector: `bench=${ns}` } });
      const ready = list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
      return ready === members ? done(ready) : notYet(`${ready} of ${members} Ready`);
    },
    { what: 'every simulated member to be Ready', timeoutMs: 180_000, intervalMs: 1000 },
  );
  // Steady state: three rounds after all are Ready.
  const cpu0 = cpuSeconds(cm.pid!);
  const t0 = performance.now();
  let rss = 0;
  await poll(
    async () => {
      rss = Math.max(rss, rssMB(cm.pid!));
      return performance.now() - t0 >= 30_000 ? done(true) : notYet('measuring');
    },
    { what: 'the measurement', timeoutMs: 40_000, intervalMs: 500 },
  );
  const cores = (cpuSeconds(cm.pid!) - cpu0) / ((performance.now() - t0) / 1000);
  line(`  probes per 10 s period: median ${fmt(median(perPeriod.slice(-3)), 0)} for ${members} members (each member once per period is on time)`);
  // The guide's budgets: 1,000 members under a quarter core and 150 MB, 5,000 under half a core and 300 MB.
  const budget = members >= 5000 ? { cores: 0.5, mb: 300 } : { cores: 0.25, mb: 150 };
  line(`  CPU: ${fmt(cores, 3)} cores (target < ${budget.cores}: ${fmt(cores / budget.cores)}x of budget); RSS: ${fmt(rss, 0)} MB (target < ${budget.mb}: ${fmt(rss / budget.mb)}x)`);
  cm.kill('SIGTERM');
  sim.stdin.end();
  // The next row measures its own members only: this one's Clusters go.
  await client.request('DELETE', `/apis/${FEDERATION_API_VERSION}/clusters`, { query: { labelSelector: `bench=${ns}` } });
  client.close();
}

// Every temporary file of the run goes under one directory, removed at the end.
const runTmp = mkdtempSync(join(tmpdir(), 'kubectl-federation-bench-'));
process.env.TMPDIR = runTmp;
const planes = await startPlanes(['host', 'member-1', 'federation']);
try {
  line(`# bench: Node ${process.version}, ${new Date().toISOString()}`);
  await installFederationAPI(planes.kubeconfig, 'federation');
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'bench-')), 'config');
  writeFileSync(kubeconfig, spawnSync('cat', [planes.kubeconfig], { encoding: 'utf8' }).stdout);
  // BENCH_ONLY=startup, init, controller, propagation, stages or pull runs that part alone.
  const only = process.env.BENCH_ONLY;
  if (only === 'startup') startup();
  if (only === 'init') await initAndJoin(kubeconfig);
  if (!only) {
    startup();
    if (existsSync(join(repoRoot, 'dist', 'release'))) sizes();
    await initAndJoin(kubeconfig);
    await controller(kubeconfig, 500);
  }
  if (!only || only === 'controller') {
    await controller(kubeconfig, 1000);
    await controller(kubeconfig, 5000);
  }
  if (!only || only === 'propagation') await propagationBench(line);
  if (only === 'stages') await propagationBench(line, true);
  if (!only || only === 'pull') await pullBench(line);
} finally {
  await planes.stop();
  rmSync(runTmp, { recursive: true, force: true });
}
process.exit(0);
