// Leader election on a coordination.k8s.io Lease, as Kubernetes' own controller managers do, so
// that of several replicas exactly one probes and writes. Expiry is judged by this process's own
// clock from when it last saw the record change, never by comparing clocks across machines.
import { ApiError, type RestClient } from '../shared/kube/rest.ts';
import { microTime } from '../shared/kube/time.ts';
import { pause } from '../shared/wait.ts';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export class LeaderElector {
  private readonly client: RestClient;
  private readonly o: LeaderOptions;
  private observed = '';
  private observedAt = 0;
  private leader = false;

  constructor(client: RestClient, options: LeaderOptions) {
    this.client = client;
    this.o = options;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
  }

  /** One attempt to take or keep the lease; true when this process holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const spec = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    const existing = await this.client.find<Lease>(`${this.path}/${this.o.name}`);
    if (!existing) {
      try {
        await this.client.request('POST', this.path, {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.o.name, namespace: this.o.namespace },
            spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return false;
        throw err;
      }
    }
    const record = `${existing.spec.holderIdentity ?? ''}|${existing.spec.renewTime ?? ''}`;
    if (record !== this.observed) {
      this.observed = record;
      this.observedAt = Date.now();
    }
    const holder = existing.spec.holderIdentity ?? '';
    const duration = (existing.spec.leaseDurationSeconds ?? 15) * 1000;
    if (holder !== '' && holder !== this.o.identity && this.observedAt + duration > Date.now()) return false;
    const takingOver = holder !== this.o.identity;
    try {
      await this.client.request('PUT', `${this.path}/${this.o.name}`, {
        body: {
          ...existing,
          spec: {
            ...existing.spec,
            ...spec,
            acquireTime: takingOver ? microTime(now) : existing.spec.acquireTime,
            leaseTransitions: (existing.spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
          },
        },
      });
      return true;
    } catch (err) {
      // Someone else wrote first: the resourceVersion no longer matches.
      if (err instanceof ApiError && err.status === 409) return false;
      throw err;
    }
  }

  private async attempt(): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew();
    } catch {
      return false;
    }
  }

  /** Resolves once this process leads (false if the signal aborted first). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.attempt()) {
        this.leader = true;
        return true;
      }
      await pause(this.o.retryPeriodMs, signal);
    }
    return false;
  }

  /**
   * Renews the lease every retry period. Resolves when the signal aborts (after releasing the
   * lease) or when renewal failed for longer than the renew deadline (leadership lost).
   */
  async hold(signal: AbortSignal): Promise<'stopped' | 'lost'> {
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await pause(this.o.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.attempt()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.o.renewDeadlineMs) {
        this.leader = false;
        return 'lost';
      }
    }
    this.leader = false;
    await this.release();
    return 'stopped';
  }

  /** Gives the lease up so a standby takes over at once instead of after it expires. */
  async release(): Promise<void> {
    try {
      const existing = await this.client.find<Lease>(`${this.path}/${this.o.name}`);
      if (existing?.spec.holderIdentity !== this.o.identity) return;
      await this.client.request('PUT', `${this.path}/${this.o.name}`, {
        body: { ...existing, spec: { ...existing.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } },
      });
    } catch {
      // The lease expires by itself.
    }
  }
}
