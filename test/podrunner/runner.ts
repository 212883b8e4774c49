// The local pod runner: a stand-in for the kubelet, the container runtime, kube-proxy and the cloud
// load balancer of one node of a local control plane. It registers a Node, binds the pods the real
// controllers create (one runner of a plane schedules for all its nodes: scheduler.ts), runs those
// bound to its node (pod-worker.ts), reports their status, and serves Services (services.ts). Its loop is bounded: it stops on stop() or when its
// lifetime ends, and every process it started ends with it (or with the test process, through
// parent-death signals).
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { ApiError, type RestClient } from '../../shared/kube/rest.ts';
import { pause } from '../../shared/wait.ts';
import type { ImageMap } from './images.ts';
import type { NodeNetwork } from './network.ts';
import { deregisterNode, HEARTBEAT_MS, registerNode, renewLease, keepNodeReady } from './node.ts';
import { type NodeContext, PodWorker } from './pod-worker.ts';
import { chooseNode } from './scheduler.ts';
import { ServiceTable } from './services.ts';

export interface PodRunnerOptions {
  /** An admin client of the control plane whose node this is. */
  client: RestClient;
  network: NodeNetwork;
  images: ImageMap;
  dir: string;
  nodeName?: string;
  /** Where the plane's API server listens: the endpoint of its `kubernetes` Service. */
  apiserver: { host: string; port: number };
  loadBalancerSubnet: string;
  /** The loop stops by itself after this long. */
  lifetimeMs: number;
  /** Also print the runner's log lines to stderr. */
  verbose?: boolean;
  /**
   * Serve the plane's Services on the node (default true). Several planes' runners share one
   * network namespace and the same service range: only one of them may answer cluster IPs.
   */
  serveServices?: boolean;
  /**
   * Bind the plane's pending pods to its nodes (default true). A plane with several nodes has one
   * runner that schedules, as it has one scheduler.
   */
  schedule?: boolean;
}

const SYNC_INTERVAL_MS = 250;

export class PodRunner {
  readonly nodeName: string;
  readonly logFile: string;
  private readonly opts: PodRunnerOptions;
  private readonly ctx: NodeContext;
  private readonly services: ServiceTable;
  private readonly workers = new Map<string, PodWorker>();
  private readonly terminating = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private lastError = '';

  private constructor(opts: PodRunnerOptions) {
    this.opts = opts;
    this.nodeName = opts.nodeName ?? 'local-node';
    mkdirSync(join(opts.dir, 'logs'), { recursive: true });
    mkdirSync(join(opts.dir, 'volumes'), { recursive: true });
    this.logFile = join(opts.dir, 'runner.log');
    const log = (line: string) => {
      const text = `${new Date().toISOString()} ${line}\n`;
      appendFileSync(this.logFile, text);
      if (opts.verbose) process.stderr.write(`[pod runner] ${text}`);
    };
    this.services = new ServiceTable({
      client: opts.client,
      network: opts.network,
      fixedEndpoints: { 'default/kubernetes': [opts.apiserver] },
      loadBalancerSubnet: opts.loadBalancerSubnet,
      log,
    });
    this.ctx = { client: opts.client, network: opts.network, images: opts.images, nodeName: this.nodeName, dir: opts.dir, services: this.services, log };
  }

  static async start(opts: PodRunnerOptions): Promise<PodRunner> {
    const runner = new PodRunner(opts);
    await registerNode(opts.client, runner.nodeName, opts.network.nodeIP);
    await (opts.serveServices !== false ? runner.services.sync() : runner.services.load());
    runner.loop = runner.run();
    return runner;
  }

  log(line: string): void {
    this.ctx.log(line);
  }

  /** What the loop is doing now: the watchdog names it when a sync takes too long. */
  private phase = 'idle';
  private phaseSince = Date.now();

  private at(phase: string): void {
    this.phase = phase;
    this.phaseSince = Date.now();
  }

  private async run(): Promise<void> {
    const deadline = Date.now() + this.opts.lifetimeMs;
    const watchdog = setInterval(() => {
      if (this.phase !== 'idle' && Date.now() - this.phaseSince > 20_000) this.log(`sync stuck for ${Math.round((Date.now() - this.phaseSince) / 1000)}s at: ${this.phase}`);
    }, 10_000);
    try {
      await this.loopUntilStopped(deadline);
    } finally {
      clearInterval(watchdog);
    }
  }

  private async loopUntilStopped(deadline: number): Promise<void> {
    let nextHeartbeat = Date.now() + HEARTBEAT_MS;
    while (!this.abort.signal.aborted) {
      if (Date.now() >= deadline) {
        this.log(`lifetime of ${this.opts.lifetimeMs / 1000}s is over: stopping`);
        break;
      }
      try {
        this.at('services');
        // A node that serves no Services still needs them for its pods' hosts files and environment.
        await (this.opts.serveServices !== false ? this.services.sync() : this.services.load());
        this.at('pods');
        await this.syncPods();
        if (Date.now() >= nextHeartbeat) {
          this.at('lease');
          await renewLease(this.opts.client, this.nodeName);
          if (await keepNodeReady(this.opts.client, this.nodeName)) this.log('node status was not Ready (an outage): posted Ready again');
          nextHeartbeat = Date.now() + HEARTBEAT_MS;
        }
        this.lastError = '';
      } catch (err) {
        const message = (err as Error).message;
        if (message !== this.lastError) this.log(`sync failed: ${message}`);
        this.lastError = message;
      }
      this.at('idle');
      await pause(SYNC_INTERVAL_MS, this.abort.signal);
    }
  }

  private async syncPods(): Promise<void> {
    const { client } = this.opts;
    const pods = (await client.get<{ items: V1Pod[] }>('/api/v1/pods')).items;
    const seen = new Set<string>();
    if (this.opts.schedule !== false) await this.schedule(pods);
    for (const pod of pods) {
      const meta = pod.metadata!;
      const uid = meta.uid!;
      if (!pod.spec?.nodeName) continue;
      if (pod.spec.nodeName !== this.nodeName) continue;
      seen.add(uid);
      if (meta.deletionTimestamp) {
        this.finish(uid, pod, pod.metadata?.deletionGracePeriodSeconds);
        continue;
      }
      let worker = this.workers.get(uid);
      if (!worker) {
        if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        worker = new PodWorker(this.ctx, pod);
        this.workers.set(uid, worker);
        this.log(`${worker.name}: admitted`);
      }
      worker.pod = pod;
      this.at(`sync ${worker.name}`);
      await worker.sync();
      this.at(`status ${worker.name}`);
      try {
        await worker.reportStatus();
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    }
    // Pods deleted at once (grace period 0) are gone from the list: stop what is left of them.
    for (const [uid, worker] of this.workers) if (!seen.has(uid)) this.finish(uid, worker.pod, 0);
  }

  /** Binds each pending pod of the default scheduler to the node scheduler.ts picks; the rest wait. */
  private async schedule(pods: V1Pod[]): Promise<void> {
    const pending = pods.filter((p) => !p.spec?.nodeName && !p.metadata?.deletionTimestamp && (p.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler');
    if (pending.length === 0) return;
    const { client } = this.opts;
    this.at('schedule');
    const [nodes, claims, volumes] = await Promise.all([
      client.get<{ items: V1Node[] }>('/api/v1/nodes'),
      client.get<{ items: V1PersistentVolumeClaim[] }>('/api/v1/persistentvolumeclaims'),
      client.get<{ items: V1PersistentVolume[] }>('/api/v1/persistentvolumes'),
    ]);
    const view = { nodes: nodes.items, pods, claims: claims.items, volumes: volumes.items };
    for (const pod of pending) {
      const node = chooseNode(pod, view);
      if (!node) continue;
      const meta = pod.metadata!;
      await client.request('POST', `/api/v1/namespaces/${meta.namespace}/pods/${meta.name}/binding`, {
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: meta.name, namespace: meta.namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
      });
      // The next pod of this round sees this one where it went.
      pod.spec!.nodeName = node;
      this.log(`${meta.namespace}/${meta.name}: bound to ${node}`);
    }
  }

  /** Stops a deleted pod's containers, then removes the pod for good, as the kubelet does. */
  private finish(uid: string, pod: V1Pod, graceSeconds: number | undefined): void {
    if (this.terminating.has(uid)) return;
    const worker = this.workers.get(uid);
    const meta = pod.metadata!;
    const done = (async () => {
      await worker?.terminate(graceSeconds === undefined ? undefined : graceSeconds * 1000);
      this.workers.delete(uid);
      await this.opts.client
        .request('DELETE', `/api/v1/namespaces/${meta.namespace}/pods/${meta.name}`, {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
        })
        .catch(() => undefined);
      this.log(`${meta.namespace}/${meta.name}: terminated`);
    })();
    this.terminating.set(uid, done);
  }

  /** The pods running here, for tests: name, containers, processes. */
  pods(): PodWorker[] {
    return [...this.workers.values()];
  }

  /** Every process the runner has running (containers and sandboxes). */
  pids(): number[] {
    return this.pods().flatMap((w) => w.pids());
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.all([...this.terminating.values()]);
    await Promise.all([...this.workers.values()].map((w) => w.terminate(5_000)));
    this.workers.clear();
    await this.services.stop();
    await deregisterNode(this.opts.client, this.nodeName);
    this.opts.client.close();
  }
}
