// The cluster controller: every period, probe each member (bounded concurrency, per-probe timeout)
// and keep its Cluster's Ready and Offline conditions true to what the probes found.
import { BlockList, isIP } from 'node:net';
import { FEDERATION_API_VERSION } from '../shared/constants.ts';
import { errorMessage } from '../shared/errors.ts';
import { collectionPath, objectPath } from '../shared/kube/resources.ts';
import { RestClient } from '../shared/kube/rest.ts';
import type { Cluster, ClusterCondition } from '../shared/manifests/federation-api.ts';
import { memberCredentials } from '../shared/member-credentials.ts';
import { probeMember } from './probe.ts';
import { conditionsDiffer, conditionsFor, decide, type Observation, type Streak, type Thresholds } from './status.ts';
import { Reflector } from './watch.ts';
import { kubeTime } from '../shared/kube/time.ts';

export interface ControllerOptions {
  federation: RestClient;
  host: RestClient;
  namespace: string;
  periodMs: number;
  probeTimeoutMs: number;
  concurrency: number;
  thresholds: Thresholds;
  /** How long an unchanged status may go without a fresh lastProbeTime. */
  statusRefreshMs: number;
  /** The address this process's requests come from, to choose among serverAddressByClientCIDRs. */
  podIP?: string;
  canWrite: () => boolean;
  log: (line: string) => void;
  /** Called after each periodic round (for --v=2 logs and the benchmarks). */
  onRound?: (round: number, clusters: number, ms: number) => void;
}

interface Secret {
  metadata: { name: string; resourceVersion?: string };
  data?: Record<string, string>;
}

interface Member {
  key: string;
  client: RestClient;
}

interface NodeList {
  items: { metadata?: { labels?: Record<string, string> } }[];
}

const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';

/** The server to use: the entry whose CIDR holds our address, most specific first; else 0.0.0.0/0. */
export function chooseServer(cluster: Cluster, podIP: string | undefined): string | Observation {
  const entries = cluster.spec?.serverAddressByClientCIDRs ?? [];
  if (entries.length === 0) return { kind: 'invalidSpec', message: 'spec.serverAddressByClientCIDRs is empty' };
  let best: { prefix: number; server: string } | undefined;
  for (const [i, e] of entries.entries()) {
    const [address, bits] = e.clientCIDR.split('/');
    const family = isIP(address ?? '');
    const prefix = Number(bits);
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      return { kind: 'invalidSpec', message: `spec.serverAddressByClientCIDRs[${i}].clientCIDR "${e.clientCIDR}" is not a CIDR such as 0.0.0.0/0` };
    }
    try {
      const url = new URL(e.serverAddress);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    } catch {
      return { kind: 'invalidSpec', message: `spec.serverAddressByClientCIDRs[${i}].serverAddress "${e.serverAddress}" is not a URL such as https://10.0.0.1:6443` };
    }
    const list = new BlockList();
    list.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    const matches = prefix === 0 || (podIP !== undefined && isIP(podIP) === family && list.check(podIP, family === 4 ? 'ipv4' : 'ipv6'));
    if (matches && (!best || prefix > best.prefix)) best = { prefix, server: e.serverAddress };
  }
  return best?.server ?? entries[0]!.serverAddress;
}

export class ClusterController {
  readonly clusters: Reflector<Cluster>;
  readonly secrets: Reflector<Secret>;
  private readonly o: ControllerOptions;
  private readonly members = new Map<string, Member>();
  private readonly streaks = new Map<string, Streak>();
  private readonly zonesCheckedAt = new Map<string, number>();
  private readonly pending = new Set<string>();
  private wake: (() => void) | undefined;
  /** When the last round ended: /healthz reads it. */
  lastRound = 0;
  rounds = 0;

  constructor(o: ControllerOptions) {
    this.o = o;
    this.clusters = new Reflector<Cluster>(o.federation, collectionPath(FEDERATION_API_VERSION, 'Cluster'), (type, c) => {
      if (type === 'DELETED') this.forget(c.metadata.name);
      else if (!this.streaks.has(c.metadata.name)) this.probeSoon(c.metadata.name);
    }, o.log);
    this.secrets = new Reflector<Secret>(o.host, collectionPath('v1', 'Secret', o.namespace), (_type, s) => {
      // A changed Secret means new credentials: probe its clusters with a new client now.
      for (const c of this.clusters.items.values()) if (c.spec?.secretRef?.name === s.metadata.name) this.probeSoon(c.metadata.name);
    }, o.log);
  }

  private forget(name: string): void {
    this.members.get(name)?.client.close();
    this.members.delete(name);
    this.streaks.delete(name);
    this.zonesCheckedAt.delete(name);
  }

  /** A new cluster (or new credentials) is probed without waiting for the next period. */
  private probeSoon(name: string): void {
    this.pending.add(name);
    this.wake?.();
  }

  /** The client for a cluster, rebuilt whenever its server or Secret changes. */
  private async member(cluster: Cluster): Promise<Member | Observation> {
    const server = chooseServer(cluster, this.o.podIP);
    if (typeof server !== 'string') return server;
    const secretName = cluster.spec.secretRef?.name;
    if (!secretName) return { kind: 'secretMissing', message: 'spec.secretRef names no Secret with the cluster\'s credentials' };
    const secret = this.secrets.items.get(secretName);
    if (!secret) {
      return { kind: 'secretMissing', message: `Secret ${this.o.namespace}/${secretName} with the cluster's credentials does not exist in the host cluster` };
    }
    const key = `${server}|${secret.metadata.resourceVersion ?? ''}`;
    const known = this.members.get(cluster.metadata.name);
    if (known?.key === key) return known;
    known?.client.close();
    this.members.delete(cluster.metadata.name);
    try {
      const creds = await memberCredentials(secret.data, server);
      const member = { key, client: new RestClient(creds, this.o.probeTimeoutMs, 'kubectl-federation-controller-manager', false) };
      this.members.set(cluster.metadata.name, member);
      return member;
    } catch (err) {
      return { kind: 'secretMissing', message: `Secret ${this.o.namespace}/${secretName} holds no usable credentials: ${errorMessage(err)}` };
    }
  }

  /** Zones and region from the member's nodes, refreshed every few minutes. */
  private async topology(name: string, client: RestClient): Promise<{ zones: string[]; region?: string } | undefined> {
    const last = this.zonesCheckedAt.get(name) ?? 0;
    if (Date.now() - last < Math.max(5 * this.o.periodMs, 60_000)) return undefined;
    this.zonesCheckedAt.set(name, Date.now());
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

  async probeOne(name: string): Promise<void> {
    const cluster = this.clusters.items.get(name);
    if (!cluster) return;
    const member = await this.member(cluster);
    const observation = 'client' in member ? await probeMember(member.client, this.o.probeTimeoutMs) : member;
    const streak = this.streaks.get(name) ?? { successes: 0, failures: 0 };
    this.streaks.set(name, streak);
    const previous = cluster.status?.conditions;
    const counted = decide(previous?.find((c) => c.type === 'Ready'), observation, streak, this.o.thresholds);
    const topology = observation.kind === 'ready' && 'client' in member ? await this.topology(name, member.client) : undefined;

    const now = kubeTime();
    const probedAt = Date.parse(previous?.find((c) => c.type === 'Ready')?.lastProbeTime ?? '') || 0;
    const stale = Date.now() - probedAt >= this.o.statusRefreshMs;
    const conditions = counted ? conditionsFor(counted, previous, now) : undefined;
    const changed = conditions !== undefined && conditionsDiffer(previous, conditions);
    const topologyChanged =
      topology !== undefined &&
      (JSON.stringify(topology.zones) !== JSON.stringify(cluster.status?.zones ?? []) || topology.region !== cluster.status?.region);
    if (!changed && !topologyChanged && !stale) return;
    if (!this.o.canWrite()) return;
    const status: Cluster['status'] = { ...cluster.status };
    // Nothing new to say but time passed: refresh the probe time, keep the rest as it is.
    status.conditions = conditions ?? conditionsFor(decidedSoFar(previous), previous, now);
    if (topology) {
      status.zones = topology.zones;
      if (topology.region) status.region = topology.region;
    }
    try {
      const updated = await this.o.federation.request<Cluster>('PATCH', `${objectPath(FEDERATION_API_VERSION, 'Cluster', name)}/status`, {
        body: { status },
        contentType: 'application/merge-patch+json',
      });
      delete updated.metadata.managedFields;
      this.clusters.items.set(name, updated);
      if (changed) {
        const ready = status.conditions.find((c) => c.type === 'Ready');
        this.o.log(`cluster ${name}: Ready=${ready?.status} (${ready?.reason}: ${ready?.message})`);
      }
    } catch (err) {
      this.o.log(`cluster ${name}: writing status failed: ${errorMessage(err)}`);
    }
  }

  /** One round: every cluster once, at most `concurrency` probes at a time. */
  async round(names = [...this.clusters.items.keys()]): Promise<void> {
    const queue = [...names];
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        try {
          await this.probeOne(name);
        } catch (err) {
          this.o.log(`cluster ${name}: probe failed: ${errorMessage(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, queue.length) }, worker));
  }

  /** Rounds every period until the signal aborts; new clusters are probed in between. */
  async run(signal: AbortSignal): Promise<void> {
    let next = Date.now();
    while (!signal.aborted) {
      if (Date.now() >= next) {
        next = Date.now() + this.o.periodMs;
        this.pending.clear();
        const began = Date.now();
        if (this.clusters.synced && this.secrets.synced) await this.round();
        this.lastRound = Date.now();
        this.rounds += 1;
        this.o.onRound?.(this.rounds, this.clusters.items.size, this.lastRound - began);
      } else if (this.pending.size > 0 && this.clusters.synced && this.secrets.synced) {
        const names = [...this.pending];
        this.pending.clear();
        await this.round(names);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, next - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
      this.wake = undefined;
    }
    for (const name of [...this.members.keys()]) this.forget(name);
  }
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
