// The member registry: the federation's Clusters and the Secrets with their credentials (kept in
// the federation API server itself, in the federation namespace: the controller manager needs no
// access to the host cluster, where the CA key and the API server's credentials live); one client per member, rebuilt when its server or credentials change; and the
// changes every controller needs to hear of (a member came, changed, went, or turned Ready or not).
import { BlockList, isIP } from 'node:net';
import { FEDERATION_API_VERSION } from '../shared/constants.ts';
import { errorMessage } from '../shared/errors.ts';
import { collectionPath } from '../shared/kube/resources.ts';
import { RestClient } from '../shared/kube/rest.ts';
import type { Cluster } from '../shared/manifests/federation-api.ts';
import type { Credentials } from '../shared/kube/credentials.ts';
import { MEMBER_SECRET_KEYS, memberCredentials, tokenServiceAccount } from '../shared/member-credentials.ts';
import { Reflector } from './runtime/reflector.ts';
import type { Observation } from './status.ts';

export interface Secret {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/** Why a member's client cannot be had. */
export type Unusable = Exclude<Observation, { kind: 'ready' }>;

/** added/changed/removed: the member itself; ready: its Ready condition turned (either way). */
export type MemberChange = 'added' | 'changed' | 'removed' | 'ready';

export interface RegistryOptions {
  federation: RestClient;
  /** The federation's namespace holding the members' Secrets. */
  namespace: string;
  /** The address this process's requests come from, to choose among serverAddressByClientCIDRs. */
  podIP?: string;
  probeTimeoutMs: number;
  requestTimeoutMs: number;
  log: (line: string) => void;
}

interface MemberClients {
  /** The server and the credentials but the token: a renewed token keeps the clients. */
  key: string;
  server: string;
  /** The Secret's resourceVersion these clients were last checked against. */
  version: string | undefined;
  creds: Credentials;
  /** For probes: no idle connection kept between them (a thousand members' worth of sockets). */
  probe: RestClient;
  /** For watches and writes: connections kept, made on first use. */
  sync?: RestClient;
}

/** The server to use: the entry whose CIDR holds our address, most specific first; else 0.0.0.0/0. */
export function chooseServer(cluster: Cluster, podIP: string | undefined): string | Unusable {
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
    let protocol: string;
    try {
      protocol = new URL(e.serverAddress).protocol;
    } catch {
      return { kind: 'invalidSpec', message: `spec.serverAddressByClientCIDRs[${i}].serverAddress "${e.serverAddress}" is not a URL such as https://10.0.0.1:6443` };
    }
    if (protocol !== 'https:') {
      return { kind: 'invalidSpec', message: `spec.serverAddressByClientCIDRs[${i}].serverAddress "${e.serverAddress}" is not https: the federation talks to members over TLS only` };
    }
    const list = new BlockList();
    list.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    const matches = prefix === 0 || (podIP !== undefined && isIP(podIP) === family && list.check(podIP, family === 4 ? 'ipv4' : 'ipv6'));
    if (matches && (!best || prefix > best.prefix)) best = { prefix, server: e.serverAddress };
  }
  return best?.server ?? entries[0]!.serverAddress;
}

/** A Secret's data but its token, as text: what identifies the credentials across renewals. */
const withoutToken = (s: Secret): string => JSON.stringify(Object.entries(s.data ?? {}).filter(([k]) => k !== MEMBER_SECRET_KEYS.token).sort(([a], [b]) => (a < b ? -1 : 1)));

const readyStatus = (c: Cluster | undefined) => c?.status?.conditions?.find((x) => x.type === 'Ready');

export class MemberRegistry {
  readonly clusters: Reflector<Cluster>;
  readonly secrets: Reflector<Secret>;
  private readonly o: RegistryOptions;
  private readonly clients = new Map<string, MemberClients>();
  private readonly listeners: ((name: string, change: MemberChange) => void)[] = [];

  constructor(o: RegistryOptions) {
    this.o = o;
    this.clusters = new Reflector<Cluster>(
      o.federation,
      collectionPath(FEDERATION_API_VERSION, 'Cluster'),
      (type, c, old) => {
        const name = c.metadata.name;
        if (type === 'DELETED') {
          this.drop(name);
          this.emit(name, 'removed');
        } else if (!old) this.emit(name, 'added');
        else {
          if (JSON.stringify(old.spec) !== JSON.stringify(c.spec) || JSON.stringify(old.metadata.labels) !== JSON.stringify(c.metadata.labels)) {
            this.emit(name, 'changed');
          }
          if (readyStatus(old)?.status !== readyStatus(c)?.status) this.emit(name, 'ready');
        }
      },
      { log: o.log },
    );
    this.secrets = new Reflector<Secret>(
      o.federation,
      collectionPath('v1', 'Secret', o.namespace),
      (_type, s, old) => {
        // A renewed token is sent on the clients as they are (their watches go on); any other change
        // means new credentials: its clusters get new clients.
        if (old && withoutToken(old) === withoutToken(s)) return;
        for (const c of this.clusters.items.values()) if (c.spec?.secretRef?.name === s.metadata.name) this.emit(c.metadata.name, 'changed');
      },
      { log: o.log },
    );
  }

  on(listener: (name: string, change: MemberChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(name: string, change: MemberChange): void {
    for (const l of this.listeners) l(name, change);
  }

  get synced(): boolean {
    return this.clusters.synced && this.secrets.synced;
  }

  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all([this.clusters.waitForSync(signal), this.secrets.waitForSync(signal)]);
  }

  run(signal: AbortSignal): Promise<void> {
    return Promise.all([this.clusters.run(signal), this.secrets.run(signal)]).then(() => this.close());
  }

  names(): string[] {
    return [...this.clusters.items.keys()];
  }

  cluster(name: string): Cluster | undefined {
    return this.clusters.items.get(name);
  }

  /** Ready=True now; and since when its Ready condition has had its present status. */
  readiness(name: string): { ready: boolean; since: number } {
    const r = readyStatus(this.cluster(name));
    return { ready: r?.status === 'True', since: Date.parse(r?.lastTransitionTime ?? '') || 0 };
  }

  private readonly retiredRequests = { probe: 0, sync: 0 };

  private drop(name: string): void {
    const known = this.clients.get(name);
    this.retiredRequests.probe += known?.probe.requests ?? 0;
    this.retiredRequests.sync += known?.sync?.requests ?? 0;
    known?.probe.close();
    known?.sync?.close();
    this.clients.delete(name);
  }

  close(): void {
    for (const name of [...this.clients.keys()]) this.drop(name);
  }

  private async clientsFor(name: string): Promise<MemberClients | Unusable> {
    const cluster = this.cluster(name);
    if (!cluster) return { kind: 'invalidSpec', message: `cluster ${name} is not joined` };
    const server = chooseServer(cluster, this.o.podIP);
    if (typeof server !== 'string') return server;
    const secretName = cluster.spec.secretRef?.name;
    if (!secretName) return { kind: 'secretMissing', message: "spec.secretRef names no Secret with the cluster's credentials" };
    const secret = this.secrets.items.get(`${this.o.namespace}/${secretName}`);
    if (!secret) {
      return { kind: 'secretMissing', message: `Secret ${this.o.namespace}/${secretName} with the cluster's credentials does not exist in the federation: join the cluster again` };
    }
    const known = this.clients.get(name);
    // The same Secret version as last time: nothing to compare (a probe per member every period).
    if (known && known.server === server && known.version === secret.metadata.resourceVersion) return known;
    const key = `${server}|${withoutToken(secret)}`;
    if (known?.key === key) {
      known.version = secret.metadata.resourceVersion;
      const token = secret.data?.[MEMBER_SECRET_KEYS.token];
      const renewed = token ? Buffer.from(token, 'base64').toString().trim() : undefined;
      if (renewed && renewed !== known.creds.token) {
        known.creds = { ...known.creds, token: renewed };
        known.probe.useToken(renewed);
        known.sync?.useToken(renewed);
      }
      return known;
    }
    this.drop(name);
    try {
      const creds = await memberCredentials(secret.data, server);
      const clients: MemberClients = {
        key,
        server,
        version: secret.metadata.resourceVersion,
        creds,
        probe: new RestClient(creds, this.o.probeTimeoutMs, 'kubectl-federation-controller-manager', false),
      };
      this.clients.set(name, clients);
      return clients;
    } catch (err) {
      return { kind: 'secretMissing', message: `Secret ${this.o.namespace}/${secretName} holds no usable credentials: ${errorMessage(err)}` };
    }
  }

  /** Requests sent to members so far, probes and propagation apart (the --v=2 log, the benchmarks). */
  requestCounts(): { probe: number; sync: number } {
    let probe = this.retiredRequests.probe;
    let sync = this.retiredRequests.sync;
    for (const c of this.clients.values()) {
      probe += c.probe.requests;
      sync += c.sync?.requests ?? 0;
    }
    return { probe, sync };
  }

  /** The member's credentials Secret as the registry sees it now (the token renewer reads and replaces its token). */
  secretOf(name: string): Secret | undefined {
    const ref = this.cluster(name)?.spec.secretRef?.name;
    return ref ? this.secrets.items.get(`${this.o.namespace}/${ref}`) : undefined;
  }

  /** The service account the member's token is for: our identity there (none for a kubeconfig's own credentials). */
  serviceAccount(name: string): { namespace: string; name: string } | undefined {
    const token = this.secretOf(name)?.data?.[MEMBER_SECRET_KEYS.token];
    return token ? tokenServiceAccount(Buffer.from(token, 'base64').toString()) : undefined;
  }

  /** The client for probing member name, or what stands in the way. */
  async probeClient(name: string): Promise<RestClient | Unusable> {
    const c = await this.clientsFor(name);
    return 'probe' in c ? c.probe : c;
  }

  /** The client for watching and writing in member name (connections kept), or what stands in the way. */
  async syncClient(name: string): Promise<RestClient | Unusable> {
    const c = await this.clientsFor(name);
    if (!('probe' in c)) return c;
    c.sync ??= new RestClient(c.creds, this.o.requestTimeoutMs, 'kubectl-federation-controller-manager', true);
    return c.sync;
  }
}
