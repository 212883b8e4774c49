// Pull mode's part of `make reliability`: a pull member's agent (the shipped code, as a local process
// calling member-1 with the planes' credentials and the federation through a fault proxy) SIGKILLed
// at uniformly random moments while it applies a batch, started again: every object arrives, as it
// was placed, and nothing else. Then the federation out of the agent's reach (every request black-
// holed) until the member is not Ready, objects placed meanwhile, the way open again: Ready, and
// everything arrives. And forged writes: one agent's token writing another member's status, its
// heartbeat, or reading what is placed on it: each refused.
import { randomInt } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEDERATION_API_VERSION } from '../../shared/constants.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import type { MemberNames } from '../../shared/manifests/member.ts';
import { readFederationId } from '../../shared/member-credentials.ts';
import { PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { AGENT_ACCOUNT, AGENT_LEASE, pullNamespace, REPORT_LABEL } from '../../shared/pull/names.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { kubeconfigFor, pullMemberAgentKubeconfig, type RunningController, startController } from '../support/federation.ts';
import { faultProxy, joinSetup, type Options, printed, type Row, tally } from './harness.ts';

const MEMBER = 'rel-pull';
const OTHER = 'rel-pull-other';
const PERIOD_MS = 1000;
const BATCH = 12;

interface Cluster {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

export async function pullReliability(o: Options): Promise<Row[]> {
  const { kubeconfig } = await joinSetup(o);
  const kc = Kubeconfig.load(kubeconfig);
  const fed = new RestClient(await credentialsFor(kc.resolve('federation')), 10_000);
  const member = new RestClient(await credentialsFor(kc.resolve('member-1')), 10_000);
  const proxy = await faultProxy(o.planes, 'federation');
  const dir = mkdtempSync(join(tmpdir(), 'reliability-pull-'));
  const running: RunningController[] = [];
  const federationId = await readFederationId(fed);
  const names = (cluster: string): MemberNames => ({ federation: 'federation', federationId, cluster, namespace: 'federation-system' });
  // Both members' places, as token create makes them; only MEMBER's agent runs. Its kubeconfig: the
  // federation through the proxy (which forwards as the planes' admin), with its real token (so its
  // renewal is not due).
  const agentKubeconfig = join(dir, 'agent.kubeconfig');
  const token = await pullMemberAgentKubeconfig(fed, names(MEMBER), proxy.server, proxy.ca, agentKubeconfig, { reliability: 'pull' });
  await pullMemberAgentKubeconfig(fed, names(OTHER), proxy.server, proxy.ca, join(dir, 'other.kubeconfig'), { reliability: 'pull' });
  const startAgent = () =>
    startController(['agent', `--kubeconfig=${agentKubeconfig}`, `--member-kubeconfig=${kubeconfigFor(kubeconfig, 'member-1')}`, `--cluster=${MEMBER}`, '--federation-name=federation', `--federation-id=${federationId}`, `--heartbeat-period=${PERIOD_MS / 1000}s`, '--request-timeout=2s', '--healthz-port=0']).then((a) => {
      running.push(a);
      return a;
    });
  const controller = await startController([`--kubeconfig=${kubeconfigFor(kubeconfig, 'federation')}`, '--federation-namespace=federation-system', '--federation-name=federation', `--cluster-monitor-period=${PERIOD_MS / 1000}s`, '--failure-threshold=3', '--resync-period=5s', '--leader-elect=false', '--healthz-port=0']);
  running.push(controller);
  const readyOf = async () => (await fed.get<Cluster>(`/apis/${FEDERATION_API_VERSION}/clusters/${MEMBER}`)).status?.conditions?.find((c) => c.type === 'Ready');
  const waitReady = (status: 'True' | 'False', timeoutMs = 60_000) =>
    poll(async () => ((await readyOf())?.status === status ? done(true) : notYet(`Ready is not ${status}`)), { what: `cluster ${MEMBER} Ready=${status}`, timeoutMs, intervalMs: 250 });
  /** The batch's ConfigMaps in the member, as placed (data "i"), and nothing else there of ours. */
  const arrived = async (namespace: string, want: number): Promise<string | undefined> => {
    const list = await member.get<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>(`/api/v1/namespaces/${namespace}/configmaps`, { query: { labelSelector: PROPAGATED_BY_LABEL } }).catch(() => ({ items: [] }));
    const wrong = list.items.filter((c) => c.data?.i !== c.metadata.name.replace(/^c/, '')).map((c) => c.metadata.name);
    if (wrong.length) return `wrong data in ${wrong.join(', ')}`;
    return list.items.length === want ? undefined : `${list.items.length} of ${want}`;
  };
  const place = async (namespace: string, from: number, to: number) => {
    for (let i = from; i < to; i++) await fed.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` }, data: { i: String(i) } } });
  };

  const kills: Row = { what: `a pull member's agent killed at random (0-3000 ms) while applying ${BATCH} objects, started again`, cases: 0, survived: 0, failures: [] };
  const outage: Row = { what: "the federation out of the agent's reach: not Ready after the threshold, Ready again, what was placed meanwhile arrives", cases: 0, survived: 0, failures: [] };
  const forged: Row = { what: "one agent's token against another member: its reports, heartbeat and copies", cases: 0, survived: 0, failures: [] };
  try {
    let agent = await startAgent();
    await waitReady('True');
    for (let k = 0; k < o.kills; k++) {
      const namespace = `rel-pull-${k}`;
      const problems: string[] = [];
      await fed.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } });
      const placing = place(namespace, 0, BATCH);
      const at = randomInt(0, 3000);
      await new Promise((r) => setTimeout(r, at));
      await agent.stop('SIGKILL');
      await placing;
      agent = await startAgent();
      const left = await poll(async () => {
        const why = await arrived(namespace, BATCH);
        return why === undefined ? done(undefined) : notYet(why);
      }, { what: `${BATCH} objects of ${namespace} in the member`, timeoutMs: 60_000, intervalMs: 250 }).catch((err: unknown) => (err as Error).message);
      if (left) problems.push(left);
      tally(kills, `killed after ${at} ms`, problems);
      o.log(`  agent killed after ${at} ms: ${left ?? 'all arrived'}`);
    }

    // The outage: every request of the agent's black-holed, then answered again.
    {
      const problems: string[] = [];
      await fed.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rel-pull-outage' } } });
      await place('rel-pull-outage', 0, 3);
      await poll(async () => ((await arrived('rel-pull-outage', 3)) === undefined ? done(true) : notYet('not yet')), { what: 'the first objects', timeoutMs: 60_000, intervalMs: 250 });
      proxy.state.every = 1;
      proxy.state.fault = 'blackhole';
      const cut = Date.now();
      try {
        await waitReady('False', 60_000).catch(() => problems.push('still Ready a minute after the federation was cut off'));
        const message = (await readyOf())?.message ?? '';
        if (!/the agent of cluster rel-pull last reported \d+s ago/.test(message)) problems.push(`the Ready message says: ${message}`);
        o.log(`  not Ready ${Math.round((Date.now() - cut) / 1000)} s after the cut: ${message}`);
        await place('rel-pull-outage', 3, 6);
      } finally {
        proxy.state.fault = undefined;
        proxy.state.every = 3;
      }
      await waitReady('True', 90_000).catch(() => problems.push('not Ready again within 90 s'));
      const left = await poll(async () => {
        const why = await arrived('rel-pull-outage', 6);
        return why === undefined ? done(undefined) : notYet(why);
      }, { what: 'what was placed meanwhile', timeoutMs: 90_000, intervalMs: 250 }).catch((err: unknown) => (err as Error).message);
      if (left) problems.push(left);
      tally(outage, 'black hole', problems);
    }

    // Forged writes: MEMBER's token, straight to the federation (no proxy), against OTHER.
    {
      const fedContext = kc.resolve('federation');
      const asAgent = new RestClient({ server: fedContext.cluster.server, ca: Buffer.from(fedContext.cluster['certificate-authority-data'] ?? '', 'base64'), token }, 10_000);
      const other = pullNamespace(OTHER);
      const status = (p: Promise<unknown>) => p.then(() => 200, (err: { status?: number }) => err.status ?? 0);
      const cases: [string, () => Promise<number>][] = [
        ['a report for the other member', () => status(asAgent.request('POST', `/api/v1/namespaces/${other}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'forged', labels: { [REPORT_LABEL]: 'true' } }, data: { report: '{}' } }, retry: false }))],
        ['its heartbeat', () => status(asAgent.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${other}/leases`, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: AGENT_LEASE }, spec: { holderIdentity: OTHER } }, retry: false }))],
        ['its Cluster status', () => status(asAgent.request('PATCH', `/apis/${FEDERATION_API_VERSION}/clusters/${OTHER}/status`, { body: { status: { conditions: [] } }, contentType: 'application/merge-patch+json', retry: false }))],
        ['what is placed on it', () => status(asAgent.get(`/api/v1/namespaces/${other}/secrets`))],
        ['a token of its agent', () => status(asAgent.request('POST', `/api/v1/namespaces/${other}/serviceaccounts/${AGENT_ACCOUNT}/token`, { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } }, retry: false }))],
      ];
      try {
        for (const [what, attempt] of cases) {
          const code = await attempt();
          tally(forged, what, code === 403 ? [] : [`answered ${code}, not 403`]);
        }
        // Its own heartbeat is allowed: the refusals above are of the other member, not of everything.
        const own = await status(asAgent.get(`/apis/coordination.k8s.io/v1/namespaces/${pullNamespace(MEMBER)}/leases/${AGENT_LEASE}`));
        tally(forged, 'its own heartbeat (allowed)', own === 200 ? [] : [`its own Lease answered ${own}`]);
      } finally {
        asAgent.close();
      }
    }
  } finally {
    // The namespaces go from the federation while its controller still runs (its finalizer), and
    // from the member by the agent; what a failed case left in the member goes directly.
    const made = ['rel-pull-outage', ...Array.from({ length: o.kills }, (_, k) => `rel-pull-${k}`)];
    for (const ns of made) await fed.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await poll(async () => ((await Promise.all(made.map((ns) => fed.find(`/api/v1/namespaces/${ns}`)))).every((x) => x === undefined) ? done(true) : notYet('namespaces still there')), {
      what: "the section's namespaces gone from the federation",
      timeoutMs: 60_000,
      intervalMs: 500,
    }).catch(() => o.log('  the federation still holds namespaces of this section'));
    for (const ns of made) await member.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    for (const r of running) {
      await r.stop();
      printed.push(r.log());
    }
    for (const cluster of [MEMBER, OTHER]) {
      await fed.request('DELETE', `/apis/${FEDERATION_API_VERSION}/clusters/${cluster}`).catch(() => undefined);
      await fed.request('DELETE', `/api/v1/namespaces/${pullNamespace(cluster)}`).catch(() => undefined);
    }
    await proxy.close();
    fed.close();
    member.close();
  }
  return [kills, outage, forged];
}
