// The controller manager's part of `make reliability`. Propagation killed (SIGKILL) at uniformly
// random moments while it creates a workload's copies and while it deletes them, restarted, and
// compared with an uninterrupted run; then faults on its two links, the federation API server and a
// member, each through a TLS-terminating fault proxy. Sporadic faults must not stop a workload, nor
// turn the member not Ready unless a threshold's worth of probes in a row failed; an outage must
// turn it not Ready only after --failure-threshold probes, and it must come back by itself.
import { createHash, randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { kubeconfigFor, type RunningController, startController } from '../support/federation.ts';
import { kubectl } from '../support/kubectl.ts';
import { pluginEnv } from '../support/plugin-path.ts';
import { cli, type Fault, faultProxy, joinSetup, type Options, printed, type Row, tally, unique } from './harness.ts';

const MEMBER = 'rel-member';
const LABEL = 'reliability=propagation';
const PERIOD_MS = 1000;
const FAILURE_THRESHOLD = 3;
const PROBE_TIMEOUT_MS = 1000;

interface Rig {
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  memberProxy: Awaited<ReturnType<typeof faultProxy>>;
  federationProxy: Awaited<ReturnType<typeof faultProxy>>;
  controllerKubeconfig: string;
  /** Every controller this rig started: their logs go into the secret scan. */
  controllers: RunningController[];
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * A federation API (the reliability planes' "federation"), member-1 joined by our join through a
 * fault proxy (so the stored address is the proxy's), and a controller kubeconfig whose server is a
 * second proxy in front of the federation. The proxies forward with the planes' own credentials.
 */
async function rig(o: Options): Promise<Rig> {
  const { kubeconfig } = await joinSetup(o);
  const memberProxy = await faultProxy(o.planes, 'member-1');
  const federationProxy = await faultProxy(o.planes, 'federation');
  const proxied = (server: string, ca: string) => ({ server, 'certificate-authority-data': b64(ca) });
  Kubeconfig.load(kubeconfig).write({
    clusters: { 'member-1-proxied': proxied(memberProxy.server, memberProxy.ca), 'federation-proxied': proxied(federationProxy.server, federationProxy.ca) },
    users: { proxied: { token: 'the-proxy-authenticates-upstream' } },
    contexts: { 'member-1-proxied': { cluster: 'member-1-proxied', user: 'proxied' }, 'federation-proxied': { cluster: 'federation-proxied', user: 'proxied' } },
  });
  // The federation's own kube-controller-manager is stopped, as init's federation runs none: the
  // Deployments' status there is ours alone, and namespaces are emptied by our controller.
  await o.planes.control('stop', 'federation', 'kube-controller-manager');
  const joined = await cli(['join', MEMBER, '--cluster-context=member-1-proxied', `--cluster-server=${memberProxy.server}`, `--cluster-labels=${LABEL}`, '--context=federation', '--kubeconfig', kubeconfig]);
  if (joined.code !== 0) throw new Error(`join through the proxy: ${joined.stderr}`);
  return { kubeconfig, env: pluginEnv(kubeconfig), memberProxy, federationProxy, controllerKubeconfig: kubeconfigFor(kubeconfig, 'federation-proxied'), controllers: [] };
}

async function unrig(o: Options, r: Rig): Promise<void> {
  for (const c of r.controllers) {
    await c.stop();
    printed.push(c.log());
  }
  const events = await kubectl(r.env, '--context=federation', 'get', 'events', '-A', '-o', 'json');
  printed.push(events.stdout);
  await cli(['unjoin', MEMBER, '--cluster-context=member-1', '--context=federation', '--kubeconfig', r.kubeconfig]);
  await r.memberProxy.close();
  await r.federationProxy.close();
  await o.planes.control('start', 'federation', 'kube-controller-manager');
}

function startControllerOf(r: Rig): Promise<RunningController> {
  return startController([
    `--kubeconfig=${r.controllerKubeconfig}`,
    '--federation-namespace=federation-system',
    '--federation-name=federation',
    `--cluster-monitor-period=${PERIOD_MS / 1000}s`,
    `--probe-timeout=${PROBE_TIMEOUT_MS / 1000}s`,
    // A black-holed request costs this long: short, so the report runs in minutes.
    '--request-timeout=2s',
    `--failure-threshold=${FAILURE_THRESHOLD}`,
    '--resync-period=5s',
    '--rebalance-grace-period=2m',
    '--deletion-timeout=2m',
    '--leader-elect=false',
    '--healthz-port=0',
  ]).then((c) => {
    r.controllers.push(c);
    return c;
  });
}

/** The workload: a namespace selecting our member, and one object of four kinds in it. */
function workload(namespace: string): object[] {
  const labels = { app: 'web' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, annotations: { 'propagation.core.federation.kubectl-federation.io/cluster-selector': LABEL } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace }, data: { mode: 'reliable' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { serviceAccountName: 'web', containers: [{ name: 'main', image: 'registry.example/web:1' }] } } },
    },
  ];
}

async function apply(r: Rig, namespace: string): Promise<void> {
  const file = join(dirname(r.kubeconfig), `${namespace}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: workload(namespace) }));
  const applied = await kubectl(r.env, '--context=federation', 'apply', '-f', file);
  if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
}

interface Item {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/**
 * What propagation made of one namespace, with the namespace's name taken out so runs compare:
 * the member's copies (what we wrote of them; server-assigned addresses aside), and the federation's
 * records of them. Undefined while a list fails.
 */
async function propagated(r: Rig, namespace: string): Promise<string | undefined> {
  const list = async (context: string, what: string, ns = true) => {
    const got = await kubectl(r.env, `--context=${context}`, ...(ns ? ['-n', namespace] : []), 'get', what, '-o', 'json');
    return got.code === 0 ? (JSON.parse(got.stdout) as { items: Item[] }).items : undefined;
  };
  const copies = await list('member-1', 'configmaps,serviceaccounts,services,deployments');
  const records = await list('federation', 'propagations');
  const namespaces = await list('member-1', 'namespaces', false);
  if (!copies || !records || !namespaces) return undefined;
  const ours = (i: Item) => i.metadata.labels?.['propagation.core.federation.kubectl-federation.io/federation-id'] !== undefined;
  const lines = [
    ...namespaces.filter((n) => n.metadata.name === namespace && ours(n)).map(() => 'Namespace'),
    ...copies.filter(ours).map((i) => {
      // The Service's addresses are the member's own choice, different in every run.
      const spec = Object.fromEntries(Object.entries(i.spec ?? {}).filter(([k]) => k !== 'clusterIP' && k !== 'clusterIPs'));
      return `${i.kind}/${i.metadata.name} ${createHash('sha256').update(JSON.stringify({ spec, data: i.data })).digest('hex').slice(0, 12)}`;
    }),
    // A copy we did not make would be a stray (the member's default ServiceAccount and ConfigMap aside).
    ...copies.filter((i) => !ours(i) && !['default', 'kube-root-ca.crt'].includes(i.metadata.name)).map((i) => `stray ${i.kind}/${i.metadata.name}`),
    ...records.map((p) => `record ${p.metadata.name} ${JSON.stringify((p as unknown as { status?: { applied?: string } }).status?.applied)}`),
  ];
  return lines.sort().join('\n');
}

/** A reference run is done: the namespace and four copies in the member, four records saying so. */
const complete = (got: string | undefined): boolean => {
  const lines = got?.split('\n') ?? [];
  return lines.length === 9 && lines.filter((l) => l.startsWith('record ') && l.endsWith(' "1/1"')).length === 4 && !lines.some((l) => l.startsWith('stray'));
};

/** Everything of the workload in the federation carries our finalizer (what deletion relies on). */
async function finalized(r: Rig, namespace: string): Promise<boolean> {
  const got = await kubectl(r.env, '--context=federation', '-n', namespace, 'get', 'configmaps,serviceaccounts,services,deployments', '-o', 'json');
  if (got.code !== 0) return false;
  const items = (JSON.parse(got.stdout) as { items: Item[] }).items.filter((i) => !['default', 'kube-root-ca.crt'].includes(i.metadata.name));
  return items.length === 4 && items.every((i) => i.metadata.finalizers?.includes('propagation.core.federation.kubectl-federation.io/cleanup'));
}

/** An uninterrupted run of namespace's workload, to its end: what every other run must end with. */
const referenceRun = (r: Rig, namespace: string) =>
  poll(
    async () => {
      const got = await propagated(r, namespace);
      return got !== undefined && complete(got) && (await finalized(r, namespace)) ? done(got) : notYet(got ?? 'a list failed');
    },
    { what: `the uninterrupted propagation of ${namespace}`, timeoutMs: 60_000, intervalMs: 100 },
  );

const converge = (r: Rig, namespace: string, expected: string, timeoutMs = 60_000) =>
  poll(
    async () => {
      const got = await propagated(r, namespace);
      return got === expected && (await finalized(r, namespace)) ? done(got) : notYet(got ?? 'a list failed');
    },
    { what: `namespace ${namespace} propagated as an uninterrupted run did`, timeoutMs, intervalMs: 200 },
  );

/** The namespace gone from the federation, and nothing of it left in the member. */
const gone = (r: Rig, namespace: string, timeoutMs = 60_000) =>
  poll(
    async () => {
      const fed = await kubectl(r.env, '--context=federation', 'get', 'namespace', namespace, '--ignore-not-found', '-o', 'name');
      const left = await propagated(r, namespace);
      return fed.code === 0 && fed.stdout.trim() === '' && left === '' ? done(true) : notYet(`federation: ${fed.stdout.trim() || fed.stderr.trim()}; member: ${left}`);
    },
    { what: `namespace ${namespace} deleted everywhere`, timeoutMs, intervalMs: 200 },
  );

const deleteNamespace = async (r: Rig, namespace: string) => {
  const d = await kubectl(r.env, '--context=federation', 'delete', 'namespace', namespace, '--wait=false');
  if (d.code !== 0) throw new Error(`kubectl delete namespace: ${d.stderr}`);
};

/**
 * The propagation controller SIGKILLed at a random moment of an uninterrupted run's length (from its
 * start to the workload converged; from a deletion to the namespace gone), then started again.
 */
export async function killController(o: Options, r: Rig): Promise<Row[]> {
  // The uninterrupted run: its result is what every interrupted one must end with.
  const reference = unique('rp');
  await apply(r, reference);
  let started = Date.now();
  let controller = await startControllerOf(r);
  const expected = await referenceRun(r, reference);
  const createMs = Date.now() - started;
  started = Date.now();
  await deleteNamespace(r, reference);
  await gone(r, reference);
  const deleteMs = Date.now() - started;
  await controller.stop();
  const createRow: Row = { what: `propagation controller killed at random while creating (0-${createMs} ms), restarted`, cases: 0, survived: 0, failures: [] };
  const deleteRow: Row = { what: `propagation controller killed at random while deleting (0-${deleteMs} ms), restarted`, cases: 0, survived: 0, failures: [] };
  for (let i = 0; i < o.kills; i++) {
    const ns = unique('rp');
    await apply(r, ns);
    let at = randomInt(0, createMs);
    controller = await startControllerOf(r);
    await new Promise((w) => setTimeout(w, at));
    await controller.stop('SIGKILL');
    controller = await startControllerOf(r);
    const problems: string[] = [];
    await converge(r, ns, expected).catch((err: unknown) => problems.push((err as Error).message));
    tally(createRow, `killed at ${at} ms`, problems);

    const deletion: string[] = [];
    at = randomInt(0, deleteMs);
    await deleteNamespace(r, ns);
    await new Promise((w) => setTimeout(w, at));
    await controller.stop('SIGKILL');
    controller = await startControllerOf(r);
    await gone(r, ns).catch((err: unknown) => deletion.push((err as Error).message));
    tally(deleteRow, `killed at ${at} ms`, deletion);
    await controller.stop();
  }
  return [createRow, deleteRow];
}

/** The longest run of trues: consecutive probes given a fault. */
function longestRun(faulted: boolean[]): number {
  let longest = 0;
  let current = 0;
  for (const f of faulted) {
    current = f ? current + 1 : 0;
    longest = Math.max(longest, current);
  }
  return longest;
}

const readyOf = async (r: Rig): Promise<string> => {
  const got = await kubectl(r.env, '--context=federation', 'get', 'cluster', MEMBER, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
  return got.code === 0 ? got.stdout.trim() : `error: ${got.stderr.trim()}`;
};

/** Waits until the member's Ready condition is want. */
const readyBecomes = (r: Rig, want: 'True' | 'False') =>
  poll(
    async () => {
      const got = await readyOf(r);
      return got === want ? done(true) : notYet(got);
    },
    { what: `${MEMBER}'s Ready to be ${want}`, timeoutMs: 30_000, intervalMs: 100 },
  );

/**
 * Each fault type on each link. Sporadic (every third request): a workload applied meanwhile
 * arrives; the member leaves Ready only if the proxy failed --failure-threshold probes in a row, and
 * is Ready again after. Outage of the member link (every request): not Ready no sooner
 * than the threshold allows and within a period or two after it; Ready again by itself once the faults
 * stop, and the workload arrives.
 */
export async function controllerLinkFaults(o: Options, r: Rig): Promise<Row[]> {
  const sporadic: Row = { what: 'controller manager links (federation, member) with a fault every third request: workload arrives, Ready left only after the threshold', cases: 0, survived: 0, failures: [] };
  const outage: Row = { what: `member outage through the proxy: not Ready only after ${FAILURE_THRESHOLD} failed probes, back by itself`, cases: 0, survived: 0, failures: [] };
  const controller = await startControllerOf(r);
  try {
    await readyBecomes(r, 'True');
    // The reference: what a workload becomes with no faults at all.
    const reference = unique('rf');
    await apply(r, reference);
    const expected = await referenceRun(r, reference);
    for (const fault of ['500', '429', '409', 'reset', 'blackhole', 'slow'] as Fault[]) {
      for (const [link, proxy] of [['member', r.memberProxy], ['federation', r.federationProxy]] as const) {
        const problems: string[] = [];
        const ns = unique('rf');
        proxy.state.every = 3;
        proxy.state.count = 0;
        proxy.state.injected = 0;
        r.memberProxy.state.probes = [];
        proxy.state.fault = fault;
        const flips: string[] = [];
        let watching = true;
        const watch = (async () => {
          while (watching) {
            const s = await readyOf(r);
            if (s !== 'True' && !s.startsWith('error')) flips.push(s);
            await new Promise((w) => setTimeout(w, 200));
          }
        })();
        await apply(r, ns).catch((err: unknown) => problems.push((err as Error).message));
        // Each failed request of a sync costs up to --request-timeout and a growing back-off: minutes, not seconds.
        await converge(r, ns, expected, 180_000).catch((err: unknown) => problems.push(`with faults: ${(err as Error).message}`));
        watching = false;
        await watch;
        proxy.state.fault = undefined;
        // Every third request fails, but requests of all kinds share the count: now and then several
        // probes in a row are among them. Ready may turn False only after --failure-threshold of them.
        const run = longestRun(r.memberProxy.state.probes);
        if (flips.length > 0 && run < FAILURE_THRESHOLD) problems.push(`Ready turned ${flips[0]} with at most ${run} failed probes in a row`);
        o.log(`  ${link} ${fault}: ${proxy.state.injected} faults injected, ${run} failed probes in a row at most, Ready ${flips.length > 0 ? `left ${flips.length} times` : 'kept'}`);
        await readyBecomes(r, 'True').catch((err: unknown) => problems.push((err as Error).message));
        if (proxy.state.injected === 0) problems.push('no fault was injected');
        await deleteNamespace(r, ns);
        await gone(r, ns).catch((err: unknown) => problems.push(`deletion after: ${(err as Error).message}`));
        tally(sporadic, `${link} ${fault}`, problems);
      }
      // An outage of the member link: every request fails.
      const problems: string[] = [];
      const proxy = r.memberProxy;
      proxy.state.every = 1;
      proxy.state.count = 0;
      proxy.state.fault = fault;
      const began = Date.now();
      const ns = unique('ro');
      // Slow answers (1.5 s) outlast the probe timeout: an outage too.
      await readyBecomes(r, 'False').catch((err: unknown) => problems.push((err as Error).message));
      const down = Date.now() - began;
      // The first failed probe comes within a period; the threshold-th, threshold-1 periods later.
      const earliest = (FAILURE_THRESHOLD - 1) * PERIOD_MS;
      const latest = (FAILURE_THRESHOLD + 1) * PERIOD_MS + FAILURE_THRESHOLD * PROBE_TIMEOUT_MS + 2000;
      if (down < earliest || down > latest) problems.push(`not Ready after ${down} ms, outside ${earliest}-${latest} ms`);
      o.log(`  member outage ${fault}: not Ready after ${down} ms`);
      // Applied during the outage: it must arrive once the member is back.
      await apply(r, ns).catch((err: unknown) => problems.push((err as Error).message));
      await new Promise((w) => setTimeout(w, 1000));
      proxy.state.fault = undefined;
      await readyBecomes(r, 'True').catch((err: unknown) => problems.push((err as Error).message));
      await converge(r, ns, expected, 60_000).catch((err: unknown) => problems.push(`after the outage: ${(err as Error).message}`));
      await deleteNamespace(r, ns);
      await gone(r, ns).catch((err: unknown) => problems.push(`deletion after: ${(err as Error).message}`));
      tally(outage, fault, problems);
    }
  } finally {
    await controller.stop();
  }
  return [sporadic, outage];
}

/** A token's claims (unverified: for the test's bookkeeping). */
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iat: number; exp: number };

/**
 * The controller manager SIGKILLed at random while it renews member tokens (10-minute tokens renewed
 * every 6 s, so a renewal is in flight at many moments), started again: the member is Ready again and
 * holds a token the member accepts, with no re-join. With the full run's kills, the controller then
 * runs until the first token it issued has expired, and the member must have stayed Ready throughout
 * while that token is refused. Joined directly (not through the fault proxy, which authenticates
 * upstream with its own credentials): the token must be the one the member checks.
 */
async function killDuringTokenRenewal(o: Options, r: Pick<Rig, 'kubeconfig' | 'env' | 'controllers'>): Promise<Row> {
  const name = 'rel-tokens';
  const server = Kubeconfig.load(r.kubeconfig).resolve('member-1').cluster.server;
  const joined = await cli(['join', name, `--cluster-server=${server}`, '--cluster-context=member-1', '--context=federation', '--kubeconfig', r.kubeconfig]);
  if (joined.code !== 0) throw new Error(`join ${name}: ${joined.stderr}`);
  const stored = async () => {
    const got = await kubectl(r.env, '--context=federation', '-n', 'federation-system', 'get', 'secret', `member-${name}`, '-o', 'jsonpath={.data.token}');
    return Buffer.from(got.stdout, 'base64').toString();
  };
  const ready = async () => (await kubectl(r.env, '--context=federation', 'get', 'cluster', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')).stdout.trim();
  // Who the member says a token is: the token alone (no client certificate beside it, which the
  // member would authenticate first).
  const member = Kubeconfig.load(r.kubeconfig).resolve('member-1').cluster;
  const caFile = join(dirname(r.kubeconfig), 'member-1-ca.crt');
  writeFileSync(caFile, Buffer.from(member['certificate-authority-data'] ?? '', 'base64'));
  const whoami = (token: string) => kubectl({ ...r.env, KUBECONFIG: '/dev/null' }, `--server=${member.server}`, `--certificate-authority=${caFile}`, `--token=${token}`, 'auth', 'whoami');
  const start = () =>
    startController([
      `--kubeconfig=${kubeconfigFor(r.kubeconfig, 'federation')}`,
      '--federation-namespace=federation-system',
      '--federation-name=federation',
      `--cluster-monitor-period=${PERIOD_MS / 1000}s`,
      '--member-token-lifetime=10m',
      '--member-token-renewal=0.01',
      '--controllers=health',
      '--leader-elect=false',
      '--healthz-port=0',
    ]).then((c) => {
      r.controllers.push(c);
      return c;
    });
  const row: Row = { what: 'controller manager killed at random while renewing member tokens (every 6 s), restarted: Ready again, no re-join', cases: 0, survived: 0, failures: [] };
  let first: string | undefined;
  for (let i = 0; i < o.kills; i++) {
    let controller = await start();
    const at = randomInt(0, 8000);
    await new Promise((w) => setTimeout(w, at));
    await controller.stop('SIGKILL');
    const before = await stored();
    const restarted = Date.now();
    controller = await start();
    const problems: string[] = [];
    try {
      // Renewed again after the restart, and Ready with it.
      await poll(
        async () => {
          const now = await stored();
          const ok = now !== before && claims(now).iat * 1000 >= restarted - 1000 && (await ready()) === 'True' && (await whoami(now)).code === 0;
          return ok ? done(now) : notYet(`token renewed: ${now !== before}; Ready=${await ready()}`);
        },
        { what: 'a renewal after the restart, the member Ready', timeoutMs: 60_000, intervalMs: 250 },
      );
      first ??= await stored();
    } catch (err) {
      problems.push((err as Error).message);
    }
    tally(row, `killed at ${at} ms`, problems);
    await controller.stop();
  }
  if (first !== undefined && o.kills >= 20) {
    // The full run: the first renewed token expires while the controller keeps renewing.
    const controller = await start();
    // The API server accepts a service-account token up to a minute past its expiry (its leeway
    // for clock skew): the first full run, waiting 5 s past, found that token still accepted.
    const until = claims(first).exp * 1000 + 75_000;
    const problems: string[] = [];
    while (Date.now() < until) {
      if ((await ready()) !== 'True') problems.push(`not Ready at ${new Date().toISOString()}`);
      await new Promise((w) => setTimeout(w, 5000));
    }
    const review = await whoami(first);
    if (review.code === 0) problems.push('the expired token is still accepted');
    const latest = await whoami(await stored());
    if (latest.code !== 0) problems.push(`the stored token is refused: ${latest.stderr.trim()}`);
    row.what += '; then ran past the first renewed token\'s expiry: Ready throughout, that token refused';
    tally(row, 'expiry', problems);
    await controller.stop();
  }
  await cli(['unjoin', name, '--cluster-context=member-1', '--context=federation', '--kubeconfig', r.kubeconfig]);
  return row;
}

/** Both propagation sections on one rig: returns their rows. */
export async function controllerReliability(o: Options): Promise<Row[]> {
  const r = await rig(o);
  try {
    return [...(await killController(o, r)), ...(await controllerLinkFaults(o, r))];
  } finally {
    await unrig(o, r);
  }
}

const STAGE_SOAK_S = 2;

/**
 * The controller manager SIGKILLed at a random moment of a staged rollout over two members (stage
 * one, soaked for STAGE_SOAK_S, then stage two), started again. The members are member-1 and the
 * host plane; none runs a kubelet, so the Deployment has no replicas: a member's copy is rolled out
 * once its deployment controller has observed it. Each restarted run must converge (both members on
 * the new template, the record Complete) and never send the change to stage two before stage one
 * had it and soaked: the API servers' own times of our writes (whole seconds) say when each member
 * changed.
 */
async function killDuringStagedRollout(o: Options, r: Pick<Rig, 'kubeconfig' | 'env' | 'controllers'>): Promise<Row> {
  const members = [
    { name: 'rel-stage-one', context: 'member-1', label: 'stage=one' },
    { name: 'rel-stage-two', context: 'host', label: 'stage=two' },
  ];
  for (const m of members) {
    const server = Kubeconfig.load(r.kubeconfig).resolve(m.context).cluster.server;
    const joined = await cli(['join', m.name, `--cluster-server=${server}`, `--cluster-context=${m.context}`, `--cluster-labels=${m.label}`, '--context=federation', '--kubeconfig', r.kubeconfig]);
    if (joined.code !== 0) throw new Error(`join ${m.name}: ${joined.stderr}`);
  }
  const ns = unique('rs');
  const file = join(dirname(r.kubeconfig), `${ns}.json`);
  const deployment = (version: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: `registry.example/web:${version}` }] } } },
  });
  const applyVersion = async (version: number) => {
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, annotations: { 'propagation.core.federation.kubectl-federation.io/cluster-selector': 'stage', 'propagation.core.federation.kubectl-federation.io/rollout-stages': `stage=one@${STAGE_SOAK_S}s; stage=two` } } },
      deployment(version),
    ] }));
    const applied = await kubectl(r.env, '--context=federation', 'apply', '-f', file);
    if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
  };
  /** Per member: the image its copy runs and when our field manager last changed it there. */
  const copies = async () =>
    Promise.all(members.map(async (m) => {
      const got = await kubectl(r.env, `--context=${m.context}`, '-n', ns, 'get', 'deployment', 'web', '-o', 'json', '--show-managed-fields');
      if (got.code !== 0) return { image: undefined, changed: 0 };
      const d = JSON.parse(got.stdout) as { spec: { template: { spec: { containers: { image: string }[] } } }; metadata: { managedFields?: { manager: string; operation: string; time: string }[] } };
      const time = d.metadata.managedFields?.find((f) => f.manager === 'kubectl-federation' && f.operation === 'Apply')?.time;
      return { image: d.spec.template.spec.containers[0]?.image, changed: time ? new Date(time).getTime() : 0 };
    }));
  const phase = async () => (await kubectl(r.env, '--context=federation', '-n', ns, 'get', 'propagation', 'deployment.apps.web', '-o', 'jsonpath={.status.rollout.phase}')).stdout.trim();
  /** Both members on the version and the record Complete; the problems with how it got there. */
  const converged = async (version: number): Promise<string[]> => {
    const want = `registry.example/web:${version}`;
    const got = await poll(
      async () => {
        const now = await copies();
        return now.every((c) => c.image === want) && (await phase()) === 'Complete' ? done(now) : notYet(`members on ${now.map((c) => c.image).join(', ')}, record ${await phase()}`);
      },
      { what: `both members on version ${version}, the rollout Complete`, timeoutMs: 60_000, intervalMs: 200 },
    );
    const gap = got[1]!.changed - got[0]!.changed;
    return gap >= (STAGE_SOAK_S - 1) * 1000 ? [] : [`stage two changed ${gap} ms after stage one (soak ${STAGE_SOAK_S}s): early`];
  };
  const start = () =>
    startController([`--kubeconfig=${kubeconfigFor(r.kubeconfig, 'federation')}`, '--federation-namespace=federation-system', '--federation-name=federation', `--cluster-monitor-period=${PERIOD_MS / 1000}s`, '--leader-elect=false', '--healthz-port=0']).then((c) => {
      r.controllers.push(c);
      return c;
    });
  let controller = await start();
  // The uninterrupted run: its length is the window the kills fall in.
  await applyVersion(0);
  const firstProblems = await converged(0);
  if (firstProblems.length > 0) throw new Error(`the uninterrupted first creation: ${firstProblems.join('; ')}`);
  const began = Date.now();
  await applyVersion(1);
  const reference = await converged(1);
  if (reference.length > 0) throw new Error(`the uninterrupted rollout: ${reference.join('; ')}`);
  const windowMs = Date.now() - began;
  await controller.stop();
  const row: Row = { what: `controller manager killed at random during a two-stage rollout (0-${windowMs} ms), restarted: no stage skipped or early, converged`, cases: 0, survived: 0, failures: [] };
  for (let i = 0; i < o.kills; i++) {
    controller = await start();
    const version = i + 2;
    await applyVersion(version);
    const at = randomInt(0, windowMs);
    await new Promise((w) => setTimeout(w, at));
    await controller.stop('SIGKILL');
    controller = await start();
    const problems: string[] = [];
    await converged(version).then((p) => problems.push(...p), (err: unknown) => problems.push((err as Error).message));
    tally(row, `killed at ${at} ms`, problems);
    await controller.stop();
  }
  controller = await start();
  await kubectl(r.env, '--context=federation', 'delete', 'namespace', ns, '--timeout=60s');
  await controller.stop();
  for (const m of members) await cli(['unjoin', m.name, `--cluster-context=${m.context}`, '--context=federation', '--kubeconfig', r.kubeconfig]);
  return row;
}

/** The staged-rollout section, on a federation of its own: its row. */
export async function stagedRolloutReliability(o: Options): Promise<Row> {
  const { kubeconfig } = await joinSetup(o);
  const r = { kubeconfig, env: pluginEnv(kubeconfig), controllers: [] as RunningController[] };
  // As init's federation: no deployment controller of its own, whose ReplicaSets would mix with the history.
  await o.planes.control('stop', 'federation', 'kube-controller-manager');
  try {
    return await killDuringStagedRollout(o, r);
  } finally {
    await o.planes.control('start', 'federation', 'kube-controller-manager');
    for (const c of r.controllers) {
      await c.stop();
      printed.push(c.log());
    }
  }
}

/** The token section, on a federation of its own (no proxies): its row. */
export async function tokenReliability(o: Options): Promise<Row> {
  const { kubeconfig } = await joinSetup(o);
  const r = { kubeconfig, env: pluginEnv(kubeconfig), controllers: [] as RunningController[] };
  try {
    return await killDuringTokenRenewal(o, r);
  } finally {
    for (const c of r.controllers) {
      await c.stop();
      printed.push(c.log());
    }
  }
}
