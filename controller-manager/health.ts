// The health controller: reconcile(name) probes one member (/readyz, per-probe timeout) and keeps
// its Cluster's Ready and Offline conditions true to what the probes found, then asks to be called
// again after one period. New members and new credentials are probed at once (the registry's
// events enqueue them); the shared runtime bounds how many probes are in flight.
import { FEDERATION_API_VERSION } from '../shared/constants.ts';
import { errorMessage } from '../shared/errors.ts';
import { objectPath } from '../shared/kube/resources.ts';
import type { RestClient } from '../shared/kube/rest.ts';
import { kubeTime } from '../shared/kube/time.ts';
import type { AgentStatus, Cluster, ClusterCondition } from '../shared/manifests/federation-api.ts';
import type { MemberRegistry } from './members.ts';
import type { TokenRenewer } from './member-tokens.ts';
import { probeMember } from './probe.ts';
import { AGENT_CODE_ANNOTATION, AGENT_LEASE, AGENT_MESSAGE_ANNOTATION, AGENT_READY_ANNOTATION, AGENT_VERSION_ANNOTATION, pullNamespace } from '../shared/pull/names.ts';
import { runningCodeDigest } from './code-digest.ts';
import type { Enqueue, ReconcileResult, Reconciler } from './runtime/controller.ts';
import { conditionsDiffer, conditionsFor, decide, type Observation, type Streak, type Thresholds } from './status.ts';

export interface HealthOptions {
  federation: RestClient;
  members: MemberRegistry;
  periodMs: number;
  probeTimeoutMs: number;
  thresholds: Thresholds;
  /** How long an unchanged status may go without a fresh lastProbeTime. */
  statusRefreshMs: number;
  log: (line: string) => void;
  /** Renews members' tokens after a probe found them Ready (none: tokens are not renewed). */
  tokens?: TokenRenewer;
  /** Handed over by the runtime: puts a member's name on this controller's queue. */
  enqueue: Enqueue;
}

interface NodeList {
  items: { metadata?: { labels?: Record<string, string> } }[];
}

const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';
const TOPOLOGY_REFRESH_MS = 10 * 60_000;

export class HealthController implements Reconciler {
  readonly name = 'health';
  /** Probes done so far: the --v=2 log and the benchmarks read it. */
  probes = 0;
  private readonly o: HealthOptions;
  private readonly streaks = new Map<string, Streak>();
  /** When each member was last probed, and what the probe found (served on /probes). */
  private readonly lastProbes = new Map<string, { at: string; result: string }>();
  /** When each member's nodes are next listed for its zones (absent: at its next Ready probe). */
  private readonly topologyDue = new Map<string, number>();
  /** Per pull member: the renewTime of its agent's Lease last read, and when this clock first saw it. */
  private readonly leaseSeen = new Map<string, { renewTime: string; at: number }>();
  /**
   * The status last written for a cluster and the version of the object it was written over: until
   * the watch brings the write back, the cache is older than what we know (client-go's mutation cache).
   */
  private readonly written = new Map<string, { over: string | undefined; status: Cluster['status'] }>();

  constructor(o: HealthOptions) {
    this.o = o;
    // New members and new credentials are probed at once; the rest every period.
    o.members.on((name, change) => {
      if (change !== 'ready') o.enqueue(name);
    });
  }

  /** Every member's last probe: when, and what it found ("ready", "unreachable", ...). */
  probeTimes(): Record<string, { at: string; result: string }> {
    return Object.fromEntries(this.lastProbes);
  }

  private async agentObservation(name: string): Promise<{ observation: Observation; agent?: AgentStatus }> {
    try {
      const lease = await this.o.federation.find<AgentLease>(`/apis/coordination.k8s.io/v1/namespaces/${pullNamespace(name)}/leases/${AGENT_LEASE}`, { timeoutMs: this.o.probeTimeoutMs });
      // When the renewal was first seen here, by this clock: the agent's clock may be off.
      const renewTime = lease?.spec?.renewTime ?? '';
      const seen = this.leaseSeen.get(name);
      const seenAt = seen?.renewTime === renewTime ? seen.at : Date.now();
      this.leaseSeen.set(name, { renewTime, at: seenAt });
      const observation = leaseObservation(lease, seenAt, Date.now(), this.o.periodMs, name);
      const a = lease?.metadata?.annotations ?? {};
      const code = a[AGENT_CODE_ANNOTATION];
      return { observation, ...(code ? { agent: { version: a[AGENT_VERSION_ANNOTATION] ?? 'unknown', codeDigest: code, current: code === runningCodeDigest() } } : {}) };
    } catch (err) {
      return { observation: { kind: 'notReady', message: `cannot read the heartbeat of cluster ${name}'s agent: ${errorMessage(err)}` } };
    }
  }

  /**
   * Zones and region from the member's nodes: read when it turns Ready, then about every ten
   * minutes, spread so members joined together do not list their nodes together. Nodes change
   * zones rarely, and a list of nodes (a connection of its own) costs more than a probe: once a
   * minute it was a sixth of a 5,000-member fleet's connections.
   */
  private async topology(name: string, client: RestClient): Promise<{ zones: string[]; region?: string } | undefined> {
    if (Date.now() < (this.topologyDue.get(name) ?? 0)) return undefined;
    this.topologyDue.set(name, Date.now() + Math.max(5 * this.o.periodMs, TOPOLOGY_REFRESH_MS) * (0.75 + Math.random() / 2));
    try {
      const nodes = await client.get<NodeList>('/api/v1/nodes', { query: { limit: 500 }, timeoutMs: this.o.probeTimeoutMs });
      const zones = new Set<string>();
      let region: string | undefined;
      for (const n of nodes.items) {
        const labels = n.metadata?.labels ?? {};
        if (labels[ZONE]) zones.add(labels[ZONE]);
        region ??= labels[REGION];
      }
      return { zones: [...zones].sort(), ...(region ? { region } : {}) };
    } catch {
      return undefined;
    }
  }

  async reconcile(name: string): Promise<ReconcileResult | void> {
    const cluster = this.o.members.cluster(name);
    if (!cluster) {
      // Gone: forget it; no next probe.
      this.streaks.delete(name);
      this.lastProbes.delete(name);
      this.topologyDue.delete(name);
      this.leaseSeen.delete(name);
      this.written.delete(name);
      this.o.tokens?.forget(name);
      return;
    }
    const mine = this.written.get(name);
    const known = mine && mine.over === cluster.metadata.resourceVersion ? mine.status : cluster.status;
    const pull = cluster.spec.mode === 'Pull';
    const client = pull ? undefined : await this.o.members.probeClient(name);
    const pulled = client ? undefined : await this.agentObservation(name);
    const observation = !client ? pulled!.observation : 'kind' in client ? client : await probeMember(client, this.o.probeTimeoutMs);
    this.probes += 1;
    this.lastProbes.set(name, { at: kubeTime(), result: observation.kind });
    const streak = this.streaks.get(name) ?? { successes: 0, failures: 0 };
    this.streaks.set(name, streak);
    const previous = known?.conditions;
    const readyBefore = previous?.find((c) => c.type === 'Ready');
    const counted = decide(readyBefore, observation, streak, this.o.thresholds, { now: Date.now(), periodMs: this.o.periodMs });
    // Back from not Ready (or new): its nodes may have changed meanwhile.
    if (observation.kind === 'ready' && readyBefore?.status !== 'True') this.topologyDue.delete(name);
    const topology = observation.kind === 'ready' && client && !('kind' in client) ? await this.topology(name, client) : undefined;
    // Renewed only through a member that answers: a renewal is one more request on a healthy link.
    if (observation.kind === 'ready' && client && !('kind' in client)) await this.o.tokens?.renewIfDue(name, client);

    const now = kubeTime();
    const probedAt = Date.parse(previous?.find((c) => c.type === 'Ready')?.lastProbeTime ?? '') || 0;
    const stale = Date.now() - probedAt >= this.o.statusRefreshMs;
    const conditions = counted ? conditionsFor(counted, previous, now) : undefined;
    const changed = conditions !== undefined && conditionsDiffer(previous, conditions);
    const topologyChanged =
      topology !== undefined &&
      (JSON.stringify(topology.zones) !== JSON.stringify(known?.zones ?? []) || topology.region !== known?.region);
    const agentChanged = pulled?.agent !== undefined && JSON.stringify(pulled.agent) !== JSON.stringify(known?.agent);
    if (agentChanged && pulled.agent!.current === false) {
      this.o.log(`cluster ${name}: its agent runs ${pulled.agent!.version} (code ${pulled.agent!.codeDigest}), not this controller manager's code (${runningCodeDigest()}): upgrade it from the member's side`);
    }
    const next = { requeueAfterMs: this.o.periodMs };
    if (!changed && !topologyChanged && !stale && !agentChanged) return next;
    const status: Cluster['status'] = { ...known };
    // Nothing new to say but time passed: refresh the probe time, keep the rest as it is.
    status.conditions = conditions ?? conditionsFor(decidedSoFar(previous), previous, now);
    if (pulled?.agent) status.agent = pulled.agent;
    if (topology) {
      status.zones = topology.zones;
      if (topology.region) status.region = topology.region;
    }
    try {
      await this.o.federation.request<Cluster>('PATCH', `${objectPath(FEDERATION_API_VERSION, 'Cluster', name)}/status`, {
        body: { status },
        contentType: 'application/merge-patch+json',
      });
      // The Cluster watch brings the new status into the registry (and tells the other controllers).
      this.written.set(name, { over: cluster.metadata.resourceVersion, status });
      if (changed) {
        const ready = status.conditions.find((c) => c.type === 'Ready');
        this.o.log(`cluster ${name}: Ready=${ready?.status} (${ready?.reason}: ${ready?.message})`);
      }
    } catch (err) {
      this.o.log(`cluster ${name}: writing status failed: ${errorMessage(err)}`);
    }
    return next;
  }
}

/**
 * A pull member's health, as its agent reports it: the agent renews its Lease every period of its
 * own with what its API server answered, and says for how long a renewal stands
 * (leaseDurationSeconds: two periods and a half). A renewal not followed by another within that time
 * means the member (or the way from it to the federation) is down; as the node lifecycle controller
 * does with kubelets' Leases, the time is when this controller first saw the renewal (seenAt, by its
 * own clock: the member's clock may be off), never the renewTime the agent wrote. The same
 * thresholds then damp it as a probe's result.
 */
export function leaseObservation(lease: AgentLease | undefined, seenAt: number, now: number, periodMs: number, cluster: string): Observation {
  if (!lease) return { kind: 'notReady', message: `no agent has reported from cluster ${cluster} yet: run the join command kubectl federation token create ${cluster} printed, against the member` };
  const age = now - seenAt;
  const standsMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000 || 2.5 * periodMs;
  if (age > standsMs) return { kind: 'unreachable', message: `the agent of cluster ${cluster} last reported ${Math.round(age / 1000)}s ago (${lease.spec?.renewTime}): the member, or its way to the federation, is down` };
  const a = lease.metadata?.annotations ?? {};
  if (a[AGENT_READY_ANNOTATION] === 'false') return { kind: 'notReady', message: `the agent of cluster ${cluster} reports: ${a[AGENT_MESSAGE_ANNOTATION] ?? 'its API server is not ready'}` };
  return { kind: 'ready' };
}

export interface AgentLease {
  metadata?: { annotations?: Record<string, string> };
  spec?: { renewTime?: string; leaseDurationSeconds?: number };
}

/** The observation the current Ready condition stands for (to refresh it unchanged). */
function decidedSoFar(previous: ClusterCondition[] | undefined): Observation {
  const ready = previous?.find((c) => c.type === 'Ready');
  if (!ready || ready.status === 'True') return { kind: 'ready' };
  const kind = (Object.entries({
    ClusterNotReady: 'notReady',
    ClusterNotReachable: 'unreachable',
    Unauthorized: 'unauthorized',
    InvalidSpec: 'invalidSpec',
    SecretMissing: 'secretMissing',
  }).find(([reason]) => reason === ready.reason)?.[1] ?? 'notReady') as Exclude<Observation['kind'], 'ready'>;
  return { kind, message: ready.message ?? '' };
}
