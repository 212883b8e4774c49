// `make reliability`: the project's promises stated as figures from systematic runs against real
// local control planes. Every command killed at random moments and run again; faults injected on
// the wire by a TLS-terminating proxy; a table of bad input; commands at once on one kubeconfig;
// and every byte printed scanned for the secrets the run created. Each section returns one row of
// the report: what | cases | survived | lost or leaked. test/reliability/reliability.test.ts runs a
// reduced form in `make test`; hack/reliability.ts the full one.
import { spawnSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { newCertificateAuthority, newSignedCertificate } from '../../shared/pki.ts';
import { census } from '../init/helpers.ts';
import { type CliResult, runCli, startCli } from '../support/cli.ts';
import { installFederationAPI, kubeconfigFor, startController } from '../support/federation.ts';
import { kubeConfigFor, statusOf } from '../support/kube.ts';
import type { Planes } from '../support/localcluster.ts';
import { kubectlBin } from '../support/paths.ts';
import { playLoadBalancer, playPod, podIP } from '../support/stand-ins.ts';

export interface Row {
  what: string;
  cases: number;
  survived: number;
  /** Cases that lost or leaked something (or did not converge), with why. */
  failures: string[];
}

export interface Options {
  planes: Planes;
  /** Kills per command (20 in the full run, 3 in make test). */
  kills: number;
  /** Commands at once on one kubeconfig (10 in the full run). */
  concurrentInits: number;
  log: (line: string) => void;
}

/** Everything any command printed during the run: scanned for secrets at the end. */
export const printed: string[] = [];
const record = (r: CliResult): CliResult => {
  printed.push(r.stdout, r.stderr);
  return r;
};
export const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => record(await runCli(args, env));

let serial = 0;
export const unique = (prefix: string) => {
  serial += 1;
  return `${prefix}-${process.pid % 10000}-${serial}`;
};

/** Every kubeconfig the run made: the admin keys init writes into them are secrets to scan for. */
const kubeconfigs: string[] = [];
export function privateKubeconfig(planes: Planes): string {
  const path = join(mkdtempSync(join(tmpdir(), 'reliability-')), 'config');
  copyFileSync(planes.kubeconfig, path);
  kubeconfigs.push(path);
  return path;
}

/** What a failed command must look like: exit 1 or 2, one line, no stack, not "a bug". */
function oneLineFailure(r: CliResult): string | undefined {
  if (r.code !== 1 && r.code !== 2) return `exit ${r.code}`;
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('warning: '));
  if (lines.length !== 1) return `${lines.length} lines: ${r.stderr.trim()}`;
  if (!lines[0]!.startsWith('error: ')) return `not an error line: ${lines[0]}`;
  if (/looks like a bug|\n\s+at /.test(r.stderr)) return `a bug report: ${r.stderr.trim()}`;
  return undefined;
}

/** A kubeconfig kubectl can load, with no temporary or lock file left beside it. */
function kubeconfigProblem(path: string, context?: string): string | undefined {
  const view = spawnSync(kubectlBin, ['config', 'view', '--kubeconfig', path, '-o', 'json'], { encoding: 'utf8' });
  if (view.status !== 0) return `kubectl cannot load the kubeconfig: ${view.stderr.trim()}`;
  if (context && !(JSON.parse(view.stdout) as { contexts?: { name: string }[] }).contexts?.some((c) => c.name === context)) return `context ${context} missing`;
  const stray = readdirSync(dirname(path)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'));
  return stray.length > 0 ? `left beside the kubeconfig: ${stray.join(', ')}` : undefined;
}

/** One case into its row: survived, or failed with its problems. */
export function tally(row: Row, label: string, problems: string[]): void {
  row.cases += 1;
  if (problems.length === 0) row.survived += 1;
  else row.failures.push(`${label}: ${problems.join('; ')}`);
}

const keysOf = (m: Map<string, string>) => [...m.keys()].sort().join(',');

interface Federation {
  name: string;
  namespace: string;
  kubeconfig: string;
  args: string[];
  stop(): Promise<void>;
}

/** A federation init can complete: the test plays its load balancer and its API server's pod. */
export function standInFederation(o: Options, extra: string[] = []): Federation {
  const name = unique('rel');
  const namespace = `${name}-system`;
  const kubeconfig = privateKubeconfig(o.planes);
  const host = kubeConfigFor(o.planes.kubeconfig, 'host');
  const ip = podIP();
  const stops: (() => Promise<void>)[] = [];
  void (async () => {
    const lb = await playLoadBalancer(host, namespace, 'apiserver', ip);
    stops.push(() => new Promise((r) => lb.close(() => r())));
    const pod = await playPod(host, namespace, 'apiserver', ip);
    stops.push(() => pod.stop());
  })().catch(() => undefined);
  return {
    name,
    namespace,
    kubeconfig,
    args: ['init', name, '--host-cluster-context=host', `--federation-system-namespace=${namespace}`, '--kubeconfig', kubeconfig, '--wait-timeout=2m', ...extra],
    stop: async () => {
      for (const s of stops.reverse()) await s();
    },
  };
}

/** Runs args, SIGKILLs it after a random moment in [0, maxMs), and returns what it printed. */
export async function killAtRandom(args: string[], maxMs: number, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const at = randomInt(0, Math.max(1, Math.floor(maxMs)));
  const run = startCli(args, env);
  const timer = setTimeout(() => run.kill('SIGKILL'), at);
  record(await run.result);
  clearTimeout(timer);
  return at;
}

async function caOf(host: KubeConfig, namespace: string): Promise<string | undefined> {
  try {
    return (await host.makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'apiserver-credentials', namespace })).data?.['ca.crt'];
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** init, killed at a uniformly random moment of an uninterrupted run's length, then run again. */
export async function killInit(o: Options): Promise<Row> {
  const host = kubeConfigFor(o.planes.kubeconfig, 'host');
  const reference = standInFederation(o);
  const started = Date.now();
  const ref = await cli(reference.args);
  const duration = Date.now() - started;
  if (ref.code !== 0) throw new Error(`the uninterrupted init failed: ${ref.stderr}`);
  const expected = keysOf(await census(host, reference.namespace));
  await reference.stop();
  const row: Row = { what: `init killed at random (0-${Math.round(duration)} ms), run again`, cases: 0, survived: 0, failures: [] };
  for (let i = 0; i < o.kills; i++) {
    const fed = standInFederation(o);
    try {
      const at = await killAtRandom(fed.args, duration);
      const caAfterKill = await caOf(host, fed.namespace);
      const again = await cli(fed.args);
      const problems: string[] = [];
      if (again.code !== 0) problems.push(`re-run exit ${again.code}: ${again.stderr.trim()}`);
      else {
        const got = keysOf(await census(host, fed.namespace));
        if (got !== expected) problems.push(`objects ${got} != ${expected}`);
        if (caAfterKill && (await caOf(host, fed.namespace)) !== caAfterKill) problems.push('a new CA');
        const kc = kubeconfigProblem(fed.kubeconfig, fed.name);
        if (kc) problems.push(kc);
      }
      tally(row, `killed at ${at} ms`, problems);
    } finally {
      await fed.stop();
    }
  }
  return row;
}

/**
 * A member joined once: its account, the cluster-wide and workload roles, the token Role and their
 * bindings, the admission policy; no token Secret (tokens expire); stored and registered.
 */
const JOINED = 'sa=1 secret=0 role=2 binding=1 nsrole=1 nsbinding=1 policy=1 stored=1 cluster=1';

async function memberState(member: KubeConfig, federation: KubeConfig, name: string, namespace: string): Promise<string> {
  const selector = `federation.kubectl-federation.io/cluster=${name}`;
  const core = member.makeApiClient(CoreV1Api);
  const rbac = member.makeApiClient(RbacAuthorizationV1Api);
  const admission = member.makeApiClient(AdmissionregistrationV1Api);
  const [sas, secrets, roles, bindings, nsRoles, nsBindings, policies] = await Promise.all([
    core.listNamespacedServiceAccount({ namespace, labelSelector: selector }),
    core.listNamespacedSecret({ namespace, labelSelector: selector }),
    rbac.listClusterRole({ labelSelector: selector }),
    rbac.listClusterRoleBinding({ labelSelector: selector }),
    rbac.listNamespacedRole({ namespace, labelSelector: selector }),
    rbac.listRoleBindingForAllNamespaces({ labelSelector: selector }),
    admission.listValidatingAdmissionPolicy({ labelSelector: selector }),
  ]);
  const stored = await federation
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ name: `member-${name}`, namespace })
    .then(() => 1)
    .catch(() => 0);
  const cluster = spawnSync(kubectlBin, ['--kubeconfig', federationKubeconfigPath, '--context', 'federation', 'get', 'clusters', name, '-o', 'name'], { encoding: 'utf8' }).status === 0 ? 1 : 0;
  return `sa=${sas.items.length} secret=${secrets.items.length} role=${roles.items.length} binding=${bindings.items.length} nsrole=${nsRoles.items.length} nsbinding=${nsBindings.items.length} policy=${policies.items.length} stored=${stored} cluster=${cluster}`;
}

let federationKubeconfigPath = '';

/** A federation API (a plane with the Cluster resource) and a kubeconfig whose context says so. */
export async function joinSetup(o: Options): Promise<{ kubeconfig: string; server: string }> {
  const kubeconfig = privateKubeconfig(o.planes);
  const kc = Kubeconfig.load(kubeconfig);
  kc.write({
    contexts: {
      federation: { cluster: 'federation-cluster', user: 'federation-admin', extensions: [{ name: 'federation.kubectl-federation.io', extension: { hostContext: 'host', namespace: 'federation-system', federation: 'federation' } }] },
    },
  });
  await installFederationAPI(kubeconfig, 'federation');
  federationKubeconfigPath = kubeconfig;
  return { kubeconfig, server: kc.resolve('member-1').cluster.server };
}

/** join and unjoin, each killed at random and run again: one identity, or none, never two. */
export async function killJoinUnjoin(o: Options): Promise<Row[]> {
  const { kubeconfig, server } = await joinSetup(o);
  const member = kubeConfigFor(kubeconfig, 'member-1');
  const federation = kubeConfigFor(kubeconfig, 'federation');
  // The controller manager runs meanwhile: its log and Events go into the secret scan.
  const controller = await startController([`--kubeconfig=${kubeconfigFor(kubeconfig, 'federation')}`, '--federation-namespace=federation-system', '--leader-elect=false', '--healthz-port=0', '--cluster-monitor-period=1s', '--v=2']);
  try {
    return await killJoinUnjoinWith(o, { kubeconfig, server, member, federation });
  } finally {
    await controller.stop();
    printed.push(controller.log());
    const events = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', 'federation', 'get', 'events', '-A', '-o', 'json'], { encoding: 'utf8' });
    printed.push(events.stdout);
  }
}

async function killJoinUnjoinWith(o: Options, s: { kubeconfig: string; server: string; member: KubeConfig; federation: KubeConfig }): Promise<Row[]> {
  const { kubeconfig, server, member, federation } = s;
  const join = (name: string) => ['join', name, '--cluster-context=member-1', `--cluster-server=${server}`, '--context=federation', '--kubeconfig', kubeconfig];
  const unjoin = (name: string) => ['unjoin', name, '--cluster-context=member-1', '--context=federation', '--kubeconfig', kubeconfig];
  const time = async (args: string[]) => {
    const started = Date.now();
    const r = await cli(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return Date.now() - started;
  };
  const probe = unique('probe');
  const joinMs = await time(join(probe));
  const unjoinMs = await time(unjoin(probe));
  const joined = JOINED;
  const gone = 'sa=0 secret=0 role=0 binding=0 nsrole=0 nsbinding=0 policy=0 stored=0 cluster=0';
  const joinRow: Row = { what: `join killed at random (0-${joinMs} ms), run again`, cases: 0, survived: 0, failures: [] };
  const unjoinRow: Row = { what: `unjoin killed at random (0-${unjoinMs} ms), run again`, cases: 0, survived: 0, failures: [] };
  for (let i = 0; i < o.kills; i++) {
    const name = unique('m');
    const at = await killAtRandom(join(name), joinMs);
    const again = await cli(join(name));
    const state = await memberState(member, federation, name, 'federation-system');
    joinRow.cases += 1;
    if (again.code === 0 && state === joined) joinRow.survived += 1;
    else joinRow.failures.push(`join killed at ${at} ms: exit ${again.code} ${again.stderr.trim()}; ${state}`);
    const at2 = await killAtRandom(unjoin(name), unjoinMs);
    // A kill after the Cluster went: the re-run finds what is left by label, or there is nothing.
    const after = await cli([...unjoin(name), '--ignore-not-found']);
    const left = await memberState(member, federation, name, 'federation-system');
    unjoinRow.cases += 1;
    if (after.code === 0 && left === gone) unjoinRow.survived += 1;
    else unjoinRow.failures.push(`unjoin killed at ${at2} ms: exit ${after.code} ${after.stderr.trim()}; ${left}`);
  }
  return [joinRow, unjoinRow];
}

/** deinit killed at random, then run again: nothing of the federation left, kubeconfig clean. */
export async function killDeinit(o: Options): Promise<Row> {
  const host = kubeConfigFor(o.planes.kubeconfig, 'host');
  const apps = host.makeApiClient(AppsV1Api);
  const row: Row = { what: 'deinit killed at random, run again', cases: 0, survived: 0, failures: [] };
  let duration = 0;
  for (let i = 0; i < o.kills + 1; i++) {
    const fed = standInFederation(o);
    try {
      const init = await cli(fed.args);
      if (init.code !== 0) throw new Error(`init for deinit: ${init.stderr}`);
      const args = ['deinit', fed.name, '--yes', '--purge-data', '--kubeconfig', fed.kubeconfig];
      if (i === 0) {
        // The uninterrupted run: its length is the range of the kills.
        const started = Date.now();
        const r = await cli(args);
        duration = Date.now() - started;
        if (r.code !== 0) throw new Error(`deinit: ${r.stderr}`);
        continue;
      }
      const at = await killAtRandom(args, duration);
      const again = await cli(args);
      const problems: string[] = [];
      // A kill after the kubeconfig entries went (deinit's last step): the re-run finds nothing to do.
      const finished = again.code === 0 || /names no federation that init made/.test(again.stderr);
      if (!finished) problems.push(`re-run exit ${again.code}: ${again.stderr.trim()}`);
      const left = (await apps.listNamespacedDeployment({ namespace: fed.namespace })).items.length;
      if (left > 0) problems.push(`${left} Deployments left`);
      const kc = kubeconfigProblem(fed.kubeconfig);
      if (kc) problems.push(kc);
      if (Kubeconfig.load(fed.kubeconfig).context(fed.name)) problems.push('its context is still in the kubeconfig');
      tally(row, `killed at ${at} ms`, problems);
    } finally {
      await fed.stop();
    }
  }
  return row;
}

/** The client's headers for the upstream request, without its credentials (the proxy brings its own). */
function upstreamHeaders(headers: Record<string, string | string[] | undefined>, host: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && k !== 'authorization' && k !== 'host') out[k] = v;
  return { ...out, host };
}

export type Fault = '500' | '429' | '409' | 'reset' | 'blackhole' | 'slow';

/**
 * A TLS-terminating proxy in front of a plane: a client of the proxy's CA sees it as the cluster;
 * it forwards each request with the plane's admin credentials, and replaces every nth with a fault.
 */
export async function faultProxy(planes: Planes, context: string) {
  const target = Kubeconfig.load(planes.kubeconfig).resolve(context);
  const ca = await newCertificateAuthority('fault-proxy');
  const serving = await newSignedCertificate({ commonName: 'fault-proxy-server', usage: 'server', altNames: ['127.0.0.1', 'localhost'] }, ca);
  const b = (s: string | undefined) => (s ? Buffer.from(s, 'base64') : undefined);
  const upstream = new URL(target.cluster.server);
  /** probes: for each health probe (/readyz, /healthz) that passed, whether it was given a fault. */
  const state = { fault: undefined as Fault | undefined, every: 3, count: 0, injected: 0, probes: [] as boolean[] };
  const server = createHttpsServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    state.count += 1;
    const faulted = state.fault !== undefined && state.count % state.every === 0;
    if (/^\/(readyz|healthz)/.test(req.url ?? '')) state.probes.push(faulted);
    if (state.fault && faulted) {
      state.injected += 1;
      const f = state.fault;
      if (f === '500') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"kind":"Status","status":"Failure","message":"injected: internal error","code":500}');
      if (f === '429') return void res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"kind":"Status","status":"Failure","message":"injected: too many requests","code":429}');
      if (f === '409') return void res.writeHead(409, { 'content-type': 'application/json' }).end('{"kind":"Status","status":"Failure","message":"injected: the object has been modified","reason":"Conflict","code":409}');
      if (f === 'reset') return void req.socket.destroy();
      if (f === 'blackhole') return; // accepted, never answered
    }
    const forward = () => {
      const out = httpsRequest(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: upstreamHeaders(req.headers, upstream.host), ca: b(target.cluster['certificate-authority-data']), cert: b(target.user['client-certificate-data']), key: b(target.user['client-key-data']) },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (state.fault === 'slow' && faulted) setTimeout(forward, 1500);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { state, server: `https://127.0.0.1:${port}`, ca: ca.cert, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Each fault on every third request to the host: init retries what is safe and succeeds, or fails
 * in one line naming the cluster and the fault; then a run without faults converges.
 */
export async function wireFaults(o: Options): Promise<Row> {
  const host = kubeConfigFor(o.planes.kubeconfig, 'host');
  const proxy = await faultProxy(o.planes, 'host');
  const row: Row = { what: 'faults on the wire (500, 429, 409, reset, black hole, slow), then a clean re-run', cases: 0, survived: 0, failures: [] };
  try {
    let expected: string | undefined;
    for (const fault of ['500', '429', '409', 'reset', 'blackhole', 'slow'] as Fault[]) {
      const fed = standInFederation(o, ['--host-cluster-context=faulty', '--request-timeout=5s']);
      fed.args.splice(fed.args.indexOf('--host-cluster-context=host'), 1);
      Kubeconfig.load(fed.kubeconfig).write({
        clusters: { faulty: { server: proxy.server, 'certificate-authority-data': Buffer.from(proxy.ca).toString('base64') } },
        users: { faulty: { token: 'the-proxy-authenticates-upstream' } },
        contexts: { faulty: { cluster: 'faulty', user: 'faulty' } },
      });
      try {
        proxy.state.fault = fault;
        proxy.state.count = 0;
        const faulty = await cli(fed.args);
        proxy.state.fault = undefined;
        const problems: string[] = [];
        if (faulty.code !== 0) {
          const bad = oneLineFailure(faulty);
          if (bad) problems.push(`with faults: ${bad}`);
          else if (!/context "faulty"/.test(faulty.stderr)) problems.push(`the error names no cluster: ${faulty.stderr.trim()}`);
        }
        const clean = await cli(fed.args);
        if (clean.code !== 0) problems.push(`clean re-run exit ${clean.code}: ${clean.stderr.trim()}`);
        else {
          const got = keysOf(await census(host, fed.namespace));
          expected ??= got;
          if (got !== expected) problems.push(`objects ${got} != ${expected}`);
          const kc = kubeconfigProblem(fed.kubeconfig, fed.name);
          if (kc) problems.push(kc);
        }
        tally(row, `${fault}`, problems);
        o.log(`  ${fault}: with faults exit ${faulty.code}${faulty.code ? ` (${faulty.stderr.trim().split('\n').at(-1)})` : ''}; clean re-run exit ${clean.code}`);
      } finally {
        await fed.stop();
      }
    }
  } finally {
    await proxy.close();
  }
  return row;
}

/** Bad input across every command: one line, exit 1 or 2, nothing changed in files or clusters. */
export async function badInput(o: Options): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'bad-input-'));
  const kubeconfig = privateKubeconfig(o.planes);
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const base = Kubeconfig.load(kubeconfig).resolve('host');
  const kc = (cluster: object, user: object = { 'client-certificate-data': base.user['client-certificate-data'], 'client-key-data': base.user['client-key-data'] }) =>
    file(unique('kc'), JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster }], users: [{ name: 'u', user }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x' }));
  const good = { server: base.cluster.server, 'certificate-authority-data': base.cluster['certificate-authority-data'] };
  // A server that is not Kubernetes: plain HTTPS answering 404 with HTML.
  const notKube = await (async () => {
    const ca = await newCertificateAuthority('not-kubernetes');
    const cert = await newSignedCertificate({ commonName: 'web', usage: 'server', altNames: ['127.0.0.1'] }, ca);
    const s = createHttpsServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not Found</body></html>'));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return { server: `https://127.0.0.1:${(s.address() as AddressInfo).port}`, ca: Buffer.from(ca.cert).toString('base64'), close: () => s.close() };
  })();
  const plugin = (body: string) => {
    const path = file(unique('plugin'), `#!/bin/sh\n${body}\n`);
    spawnSync('chmod', ['+x', path]);
    return path;
  };
  const exec = (command: string) => ({ exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command } });
  // A kubeconfig its owner made read-only: init must stop before deploying anything.
  const readOnly = privateKubeconfig(o.planes);
  chmodSync(readOnly, 0o400);
  const k = ['--kubeconfig', kubeconfig];
  const host = ['--host-cluster-context=host'];
  const cases: string[][] = [
    // init: names, arguments, flags
    ['init', 'Federation', ...host, ...k],
    ['init', 'a'.repeat(64), ...host, ...k],
    ['init', 'gke_p_z_n', ...host, ...k],
    ['init', 'fed.example.com', ...host, ...k],
    ['init', 'a', 'b', ...host, ...k],
    ['init', '--no-such-flag', ...host, ...k],
    ['init', '--wait-timeout=5x', ...host, ...k],
    ['init', '--wait-timeout=-1s', ...host, ...k],
    ['init', '--cert-validity=forever', ...host, ...k],
    ['init', '--request-timeout=soon', ...host, ...k],
    ['init', '--etcd-pv-capacity=ten', ...host, ...k],
    ['init', '--etcd-pv-capacity=-1Gi', ...host, ...k],
    ['init', '--etcd-pv-capacity=0', ...host, ...k],
    ['init', '--api-server-load-balancer-source-ranges=10.0.0.0/33', ...host, ...k],
    ['init', '--api-server-load-balancer-source-ranges=300.0.0.0/8', ...host, ...k],
    ['init', '--api-server-load-balancer-source-ranges=everyone', ...host, ...k],
    ['init', '--node-selector=novalue', ...host, ...k],
    ['init', '--node-selector==x', ...host, ...k],
    ['init', '--apiserver-arg-overrides=v=4', ...host, ...k],
    ['init', '--apiserver-arg-overrides=--=x', ...host, ...k],
    ['init', '--controllermanager-arg-overrides=x', ...host, ...k],
    ['init', '--api-server-service-type=ClusterIP', ...host, ...k],
    ['init', '--api-server-service-type=NodePort', '--api-server-port=0', ...host, ...k],
    ['init', '--api-server-service-type=NodePort', '--api-server-port=70000', ...host, ...k],
    ['init', '--api-server-service-type=NodePort', '--api-server-advertise-address=node-1', ...host, ...k],
    ['init', '--api-server-advertise-address=10.0.0.1', ...host, ...k],
    ['init', '--image-registry=Not A Registry', ...host, ...k],
    ['init', '--apiserver-resources=requests.gpu=1', ...host, ...k],
    ['init', '--etcd-resources=requests.memory=2Gi,limits.memory=1Gi', ...host, ...k],
    ['init', '--etcd-servers=ftp://etcd:2379', ...host, ...k],
    ['init', '--etcd-cafile=/nonexistent', ...host, ...k],
    ['init', '--image-pull-policy=Sometimes', ...host, ...k],
    ['init', '-o', 'json', ...host, ...k],
    ['init', '--dry-run', '-o', 'xml', ...host, ...k],
    ['init', '--dry-run=server', ...host, ...k],
    ['init', '--dry-run=maybe', ...host, ...k],
    ['init', '--switch-context=maybe', ...host, ...k],
    ['init', '--apiserver-enable-basic-auth', ...host, ...k],
    ['init', '--node-image=a', '--controller-manager-image=b', ...host, ...k],
    // kubeconfig files and contexts
    ['init', ...host, '--kubeconfig', '/nonexistent/config'],
    ['init', ...host, '--kubeconfig', dir],
    ['init', ...host, '--kubeconfig', file('broken.yaml', 'apiVersion: v1\nclusters: [\n')],
    ['init', ...host, '--kubeconfig', file('list.yaml', '- a\n- b\n')],
    ['init', '--host-cluster-context=nowhere', ...k],
    ['init', ...host, '--kubeconfig', readOnly],
    ['init', '--kubeconfig', file('dangling.yaml', 'apiVersion: v1\nkind: Config\ncontexts: [{name: x, context: {cluster: gone, user: gone}}]\ncurrent-context: x\n')],
    ['init', '--kubeconfig', file('empty-current.yaml', 'apiVersion: v1\nkind: Config\n')],
    ['init', '--request-timeout=3s', '--kubeconfig', kc({ server: 'https://127.0.0.1:1' })],
    ['init', '--request-timeout=3s', '--kubeconfig', kc({ server: base.cluster.server, 'certificate-authority-data': notKube.ca })],
    ['init', '--request-timeout=3s', '--kubeconfig', kc({ server: notKube.server, 'certificate-authority-data': notKube.ca })],
    ['init', '--request-timeout=3s', '--kubeconfig', kc(good, { token: 'not-a-valid-token' })],
    ['init', '--request-timeout=3s', '--kubeconfig', kc(good, exec(plugin('echo "login expired" >&2; exit 1')))],
    ['init', '--request-timeout=3s', '--kubeconfig', kc(good, exec(plugin('sleep 30')))],
    ['init', '--request-timeout=3s', '--kubeconfig', kc(good, exec(plugin('echo not-json')))],
    ['init', '--request-timeout=3s', '--kubeconfig', kc(good, exec('/nonexistent/plugin'))],
    ['init', '--request-timeout=3s', '--kubeconfig', kc({ ...good, 'proxy-url': 'socks5://127.0.0.1:1080' })],
    ['init', '--request-timeout=3s', '--kubeconfig', kc(good, { username: 'admin', password: 'secret' })],
    // join and unjoin
    ['join', 'Member', ...k],
    ['join', 'gke_p_z_member', ...k],
    ['join', 'nowhere', ...k],
    ['join', 'member-1', '--context=host', ...k],
    ['join', 'member-1', '--cluster-server=http://10.0.0.5:6443', ...k],
    ['join', 'member-1', '--cluster-labels=a', '--context=host', ...k],
    ['join', 'member-1', '--propagated-kinds=NoSuchKind,', '--context=host', ...k],
    ['join', 'member-1', '-o', 'json', ...k],
    ['join', '--no-such-flag', 'member-1', ...k],
    ['join', 'member-1', '--dry-run=server', ...k],
    ['unjoin', 'Member', ...k],
    ['unjoin', 'member-1', '--context=nowhere', ...k],
    // day two
    ['deinit', 'nowhere', '--yes', ...k],
    ['deinit', 'nowhere', '--dry-run=sometimes', ...k],
    ['status', 'nowhere', ...k],
    ['status', '-o', 'xml', ...k],
    ['certs', 'renew', 'everything', ...k],
    ['certs', 'check-expiration', '--federation=nowhere', ...k],
    ['version', '-o', 'xml'],
    ['no-such-command'],
  ];
  const row: Row = { what: 'bad input (every command): one line, exit 1 or 2, nothing changed', cases: 0, survived: 0, failures: [] };
  const core = kubeConfigFor(o.planes.kubeconfig, 'host').makeApiClient(CoreV1Api);
  const namespaces = async () => (await core.listNamespace()).items.map((n) => n.metadata!.name).sort().join(',');
  const checksum = () => createHash('sha256').update(readFileSync(kubeconfig)).digest('hex');
  try {
    for (const args of cases) {
      const [beforeNs, beforeKc] = [await namespaces(), checksum()];
      const r = await cli(args);
      const problems: string[] = [];
      const bad = oneLineFailure(r);
      if (bad) problems.push(bad);
      if (checksum() !== beforeKc) problems.push('the kubeconfig changed');
      if ((await namespaces()) !== beforeNs) problems.push('a namespace appeared or went');
      if (existsSync(`${kubeconfig}.lock`)) problems.push('a lock was left');
      tally(row, `${args.join(' ')}`, problems);
    }
  } finally {
    notKube.close();
  }
  return row;
}

/** Several inits writing one kubeconfig at once: every entry there at the end, the file whole. */
export async function concurrentWrites(o: Options): Promise<Row> {
  const kubeconfig = privateKubeconfig(o.planes);
  const feds = Array.from({ length: o.concurrentInits }, () => standInFederation(o));
  const row: Row = { what: `${o.concurrentInits} inits at once on one kubeconfig (--switch-context)`, cases: 1, survived: 0, failures: [] };
  try {
    const results = await Promise.all(feds.map((f) => cli(f.args.map((a) => (a === f.kubeconfig ? kubeconfig : a)))));
    const problems: string[] = [];
    results.forEach((r, i) => {
      if (r.code !== 0) problems.push(`${feds[i]!.name}: exit ${r.code} ${r.stderr.trim()}`);
    });
    const kc = Kubeconfig.load(kubeconfig);
    for (const f of feds) if (!kc.context(f.name) || !kc.cluster(f.name) || !kc.user(f.name)) problems.push(`${f.name}'s entries lost`);
    if (!feds.some((f) => f.name === kc.currentContext)) problems.push(`current-context ${kc.currentContext} is none of them`);
    const bad = kubeconfigProblem(kubeconfig);
    if (bad) problems.push(bad);
    if (problems.length === 0) row.survived = 1;
    else row.failures.push(problems.join('; '));
  } finally {
    for (const f of feds) await f.stop();
  }
  return row;
}

/** Five joins into one federation at once: five Clusters, five Secrets, five identities. */
export async function concurrentJoins(o: Options): Promise<Row> {
  const { kubeconfig, server } = await joinSetup(o);
  const names = Array.from({ length: 5 }, () => unique('c'));
  const results = await Promise.all(names.map((n) => cli(['join', n, '--cluster-context=member-1', `--cluster-server=${server}`, '--context=federation', '--kubeconfig', kubeconfig])));
  const member = kubeConfigFor(kubeconfig, 'member-1');
  const federation = kubeConfigFor(kubeconfig, 'federation');
  const problems: string[] = [];
  for (const [i, n] of names.entries()) {
    if (results[i]!.code !== 0) problems.push(`${n}: exit ${results[i]!.code} ${results[i]!.stderr.trim()}`);
    const state = await memberState(member, federation, n, 'federation-system');
    if (state !== JOINED) problems.push(`${n}: ${state}`);
  }
  for (const n of names) await cli(['unjoin', n, '--cluster-context=member-1', '--context=federation', '--kubeconfig', kubeconfig]);
  return { what: '5 joins into one federation at once', cases: 1, survived: problems.length === 0 ? 1 : 0, failures: problems };
}

/**
 * Every byte printed above, scanned for the secrets the run created: the private keys and tokens
 * in the federations' Secrets and kubeconfigs, raw and base64. Zero hits is the only pass.
 */
export async function secretScan(o: Options, extraOutput: string[] = []): Promise<Row> {
  const secrets = new Set<string>();
  /** A secret value as stored (base64): its base64 and its decoded body, each a long prefix. */
  const add = (value: string | undefined) => {
    if (!value) return;
    const text = Buffer.from(value, 'base64').toString();
    // A kubeconfig: the keys and tokens inside it.
    if (/client-key-data:|token:/.test(text)) {
      for (const m of text.matchAll(/(?:client-key-data|token):\s*(\S+)/g)) add(/^[A-Za-z0-9+/=]+$/.test(m[1]!) && m[1]!.length > 40 ? m[1]! : Buffer.from(m[1]!).toString('base64'));
      return;
    }
    // The body of a PEM key, or a token: long enough that a hit is never chance.
    const body = text.includes('-----BEGIN') ? text.split('\n').filter((l) => l && !l.startsWith('-----')).join('') : text.trim();
    if (body.length >= 20) {
      secrets.add(body.slice(0, 64));
      secrets.add(value.slice(0, 64));
    }
  };
  for (const plane of o.planes.planes) {
    const core = kubeConfigFor(o.planes.kubeconfig, plane.name).makeApiClient(CoreV1Api);
    for (const s of (await core.listSecretForAllNamespaces()).items) {
      if (!/credentials|kubeconfig|member-|-token$/.test(s.metadata?.name ?? '')) continue;
      for (const [key, value] of Object.entries(s.data ?? {})) if (/key|token|kubeconfig|csv/.test(key)) add(value);
    }
  }
  // The admin keys init wrote into the run's kubeconfigs.
  for (const path of kubeconfigs) {
    for (const m of readFileSync(path, 'utf8').matchAll(/client-key-data:\s*(\S+)/g)) add(m[1]);
  }
  const all = [...printed, ...extraOutput].join('\n');
  const hits = [...secrets].filter((s) => all.includes(s));
  const generic = (all.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----/g) ?? []).length;
  o.log(`  scanned ${all.length} bytes of output for ${secrets.size} secret strings`);
  return {
    what: `secrets in ${printed.length + extraOutput.length} outputs (keys, tokens, raw and base64)`,
    cases: secrets.size,
    survived: secrets.size - hits.length,
    failures: [...hits.map((h) => `printed: ${h.slice(0, 12)}...`), ...(generic ? [`${generic} PEM private keys printed`] : [])],
  };
}

export function table(rows: Row[]): string {
  const lines = ['| what | cases | survived | lost or leaked |', '|---|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.what} | ${r.cases} | ${r.survived} | ${r.cases - r.survived} |`);
  return lines.join('\n');
}
