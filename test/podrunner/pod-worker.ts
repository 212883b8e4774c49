// One pod on the node, from sandbox to termination: its volumes, its containers (restarted per
// restartPolicy with a growing back-off), its probes, and the status the real controllers read.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1ContainerStateTerminated, V1ContainerStatus, V1EnvVar, V1Pod, V1PodCondition, V1PodStatus, V1Probe } from '@kubernetes/client-node';
import type { RestClient } from '../../shared/kube/rest.ts';
import { kubeTime as now } from '../../shared/kube/time.ts';
import { hostsFile, launchContainer, type Mount } from './container.ts';
import { containerArgv, expandReferences, ImageError, type ImageMap, localCommand, localImage } from './images.ts';
import { createSandbox, type NodeNetwork, type Sandbox } from './network.ts';
import { runProbe } from './probes.ts';
import { processIdentity } from './security.ts';
import type { ServiceTable } from './services.ts';
import { prepareVolume, tokenRefreshDelayMs, VolumeNotReady } from './volumes.ts';

export interface NodeContext {
  client: RestClient;
  network: NodeNetwork;
  images: ImageMap;
  nodeName: string;
  /** The runner's own directory: pods' scratch space and, under volumes/, persistent volumes. */
  dir: string;
  services: ServiceTable;
  log(line: string): void;
}

/** The kubelet's fallback termination message: the log's last 80 lines, at most 2048 bytes. */
function logTail(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-81).join('\n').slice(-2048).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Back-off before restarting a container: the kubelet's doubling, scaled down for tests (1s .. 20s). */
const backoffMs = (restarts: number) => Math.min(1000 * 2 ** Math.max(0, restarts - 1), 20_000);
/** How long a stopping container gets between SIGTERM and SIGKILL, at most. */
const MAX_GRACE_MS = 10_000;

interface ProbeState {
  successes: number;
  failures: number;
  nextAt: number;
  inFlight: boolean;
}

const freshProbe = (probe: V1Probe | undefined, at: number): ProbeState => ({
  successes: 0,
  failures: 0,
  nextAt: at + (probe?.initialDelaySeconds ?? 0) * 1000,
  inFlight: false,
});

class Container {
  readonly spec: V1Container;
  process?: ChildProcess;
  exited?: Promise<void>;
  startedAt?: string;
  restartCount = 0;
  lastTerminated?: V1ContainerStateTerminated;
  waiting?: { reason: string; message?: string };
  backoffUntil = 0;
  ready = false;
  stopping = false;
  /** The running process's hosts file, and what it holds. */
  hosts?: { file: string; text: string };
  readiness = freshProbe(undefined, 0);
  liveness = freshProbe(undefined, 0);

  constructor(spec: V1Container) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }
}

export class PodWorker {
  pod: V1Pod;
  readonly containers: Container[];
  sandbox?: Sandbox;
  private readonly ctx: NodeContext;
  private readonly dir: string;
  private volumeDirs?: Map<string, string>;
  private setupProblem?: string;
  private terminating = false;
  private lastStatus = '';
  private transitions = new Map<string, { status: string; time: string }>();
  private startTime?: string;
  private tokensRefreshAt?: number;

  constructor(ctx: NodeContext, pod: V1Pod) {
    this.ctx = ctx;
    this.pod = pod;
    this.dir = join(ctx.dir, 'pods', pod.metadata!.uid!);
    this.containers = pod.spec!.containers.map((c) => new Container(c));
  }

  get name(): string {
    return `${this.pod.metadata!.namespace}/${this.pod.metadata!.name}`;
  }

  /** Brings the pod one step closer to running: sandbox and volumes, containers due, probes due. */
  async sync(): Promise<void> {
    if (this.terminating) return;
    if (!this.volumeDirs || !this.sandbox) {
      try {
        await this.setUp();
      } catch (err) {
        const message = (err as Error).message;
        if (message !== this.setupProblem) this.ctx.log(`${this.name}: ${err instanceof VolumeNotReady ? 'waiting' : 'cannot start'}: ${message}`);
        this.setupProblem = message;
        return;
      }
    }
    const at = Date.now();
    if (this.tokensRefreshAt !== undefined && at >= this.tokensRefreshAt) await this.refreshTokens();
    const hosts = this.hosts();
    for (const c of this.containers) {
      if (!c.process && !c.stopping && at >= c.backoffUntil && this.mayRun(c)) await this.start(c);
      // Cluster DNS answers for pods that came or went since the start: so does the hosts file
      // (written in place: the container sees the same file through its overlay).
      if (c.process && c.hosts && c.hosts.text !== hosts) {
        writeFileSync(c.hosts.file, hosts);
        c.hosts.text = hosts;
      }
      this.probe(c, 'readiness', at);
      this.probe(c, 'liveness', at);
    }
  }

  private async setUp(): Promise<void> {
    if (this.pod.spec?.initContainers?.length) throw new Error('the local pod runner does not run init containers');
    if (!this.volumeDirs) {
      const dirs = new Map<string, string>();
      const volumesDir = join(this.ctx.dir, 'volumes');
      for (const v of this.pod.spec?.volumes ?? []) {
        dirs.set(v.name, await prepareVolume({ client: this.ctx.client, pod: this.pod, podDir: this.dir, volumesDir, nodeName: this.ctx.nodeName }, v));
      }
      this.volumeDirs = dirs;
      this.scheduleTokenRefresh();
    }
    this.sandbox = await createSandbox(this.ctx.network);
    this.startTime = now();
    this.setupProblem = undefined;
    this.ctx.log(`${this.name}: sandbox ${this.sandbox.ip}`);
  }

  private scheduleTokenRefresh(): void {
    const delay = tokenRefreshDelayMs(this.pod);
    this.tokensRefreshAt = delay === undefined ? undefined : Date.now() + delay;
  }

  /** New service-account tokens in place of the old, before these expire. */
  private async refreshTokens(): Promise<void> {
    const volumesDir = join(this.ctx.dir, 'volumes');
    for (const v of this.pod.spec?.volumes ?? []) {
      if (v.projected?.sources?.some((s) => s.serviceAccountToken)) {
        await prepareVolume({ client: this.ctx.client, pod: this.pod, podDir: this.dir, volumesDir, nodeName: this.ctx.nodeName }, v);
      }
    }
    this.scheduleTokenRefresh();
    this.ctx.log(`${this.name}: refreshed its service-account tokens`);
  }

  /** Whether restartPolicy lets a container that has run (or never ran) start now. */
  private mayRun(c: Container): boolean {
    if (!c.lastTerminated) return true;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    return policy === 'Always' || (policy === 'OnFailure' && c.lastTerminated.exitCode !== 0);
  }

  /**
   * The container's environment as the kubelet makes it: envFrom first (ConfigMaps and Secrets,
   * with their prefix), then env (values with $(VAR) references, the downward API, and keys of
   * ConfigMaps and Secrets). A missing object or key fails the container's start with the kubelet's
   * words (CreateContainerConfigError) unless the reference is optional.
   */
  private async environment(c: V1Container): Promise<Record<string, string>> {
    const meta = this.pod.metadata!;
    const runAsUser = c.securityContext?.runAsUser ?? this.pod.spec?.securityContext?.runAsUser;
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: meta.name!,
      HOME: runAsUser === undefined || runAsUser === 0 ? '/root' : '/tmp',
      ...this.ctx.services.environment(meta.namespace!, this.pod.spec?.enableServiceLinks !== false),
    };
    const field = (path: string | undefined): string => {
      if (path === 'status.podIP') return this.sandbox!.ip;
      if (path === 'status.hostIP') return this.ctx.network.nodeIP;
      if (path === 'metadata.name') return meta.name!;
      if (path === 'metadata.namespace') return meta.namespace!;
      if (path === 'metadata.uid') return meta.uid!;
      if (path === 'spec.nodeName') return this.ctx.nodeName;
      if (path === 'spec.serviceAccountName') return this.pod.spec?.serviceAccountName ?? 'default';
      throw new Error(`the local pod runner does not provide ${path ?? 'this'} in env`);
    };
    // One read per object per start, as the kubelet's cache would answer.
    const read = new Map<string, Record<string, string> | undefined>();
    const data = async (kind: 'configmap' | 'secret', name: string): Promise<Record<string, string> | undefined> => {
      const key = `${kind}/${name}`;
      if (!read.has(key)) {
        const path = `/api/v1/namespaces/${meta.namespace}/${kind}s/${name}`;
        const obj = await this.ctx.client.find<{ data?: Record<string, string> }>(path);
        const decoded = kind === 'secret' && obj ? Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) : obj?.data ?? (obj ? {} : undefined);
        read.set(key, decoded);
      }
      return read.get(key);
    };
    const title = (kind: 'configmap' | 'secret') => (kind === 'configmap' ? 'ConfigMap' : 'Secret');
    const keyOf = async (kind: 'configmap' | 'secret', ref: { name?: string; key: string; optional?: boolean }): Promise<string | undefined> => {
      const values = await data(kind, ref.name ?? '');
      if (!values) {
        if (ref.optional) return undefined;
        throw new Error(`${kind} "${ref.name ?? ''}" not found`);
      }
      if (!(ref.key in values)) {
        if (ref.optional) return undefined;
        throw new Error(`couldn't find key ${ref.key} in ${title(kind)} ${meta.namespace}/${ref.name ?? ''}`);
      }
      return values[ref.key];
    };
    for (const from of c.envFrom ?? []) {
      const [kind, ref] = from.configMapRef ? (['configmap', from.configMapRef] as const) : from.secretRef ? (['secret', from.secretRef] as const) : [undefined, undefined];
      if (!kind) continue;
      const values = await data(kind, ref.name ?? '');
      if (!values) {
        if (ref.optional) continue;
        throw new Error(`${kind} "${ref.name ?? ''}" not found`);
      }
      // Keys that are no valid variable name are skipped (the kubelet records an Event).
      for (const [k, v] of Object.entries(values)) if (/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(`${from.prefix ?? ''}${k}`)) env[`${from.prefix ?? ''}${k}`] = v;
    }
    for (const e of c.env ?? ([] as V1EnvVar[])) {
      const from = e.valueFrom;
      let value: string | undefined;
      if (from?.fieldRef) value = field(from.fieldRef.fieldPath);
      else if (from?.configMapKeyRef) value = await keyOf('configmap', from.configMapKeyRef);
      else if (from?.secretKeyRef) value = await keyOf('secret', from.secretKeyRef);
      else if (from) throw new Error(`env ${e.name}: the local pod runner supports value, fieldRef, configMapKeyRef and secretKeyRef only`);
      else value = expandReferences(e.value ?? '', env);
      if (value !== undefined) env[e.name] = value;
    }
    return env;
  }

  private hosts(): string {
    const meta = this.pod.metadata!;
    const spec = this.pod.spec;
    // The kubelet's line for the pod itself: its FQDN first when it has a subdomain (a StatefulSet's pods).
    const hostname = spec?.hostname ?? meta.name!;
    const fqdn = spec?.subdomain ? `${hostname}.${spec.subdomain}.${meta.namespace}.svc.cluster.local ` : '';
    const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${this.sandbox!.ip}\t${fqdn}${hostname}`];
    for (const alias of this.pod.spec?.hostAliases ?? []) lines.push(`${alias.ip}\t${(alias.hostnames ?? []).join(' ')}`);
    // No cluster DNS here: Service names resolve through the pod's hosts file instead.
    lines.push(...this.ctx.services.hostsLines(meta.namespace!));
    return `${lines.join('\n')}\n`;
  }

  private async start(c: Container): Promise<void> {
    const spec = c.spec;
    try {
      const env = await this.environment(spec);
      const command = spec.command?.map((a) => expandReferences(a, env));
      const args = spec.args?.map((a) => expandReferences(a, env));
      const argv = localCommand(this.ctx.images, spec.image ?? '', command, args);
      const program = containerArgv(this.ctx.images, spec.image ?? '', command, args)[0]!;
      const identity = processIdentity(this.pod, spec, localImage(this.ctx.images, spec.image ?? ''), program);
      const mounts: Mount[] = (spec.volumeMounts ?? []).map((m) => {
        const source = this.volumeDirs!.get(m.name);
        if (!source) throw new Error(`volumeMount ${m.name} names no volume of the pod`);
        return { source: m.subPath ? join(source, m.subPath) : source, target: m.mountPath, readOnly: m.readOnly === true };
      });
      const cdir = join(this.dir, 'containers', `${spec.name}-${c.restartCount}`);
      const hosts = this.hosts();
      c.hosts = { file: hostsFile(cdir), text: hosts };
      const child = launchContainer({
        dir: cdir,
        netnsPath: this.sandbox!.netnsPath,
        argv,
        env,
        mounts,
        hosts,
        workingDir: spec.workingDir,
        identity,
        logFile: this.logFile(spec.name),
      });
      const started = now();
      c.process = child;
      c.startedAt = started;
      c.waiting = undefined;
      c.ready = !spec.readinessProbe;
      c.readiness = freshProbe(spec.readinessProbe, Date.now());
      c.liveness = freshProbe(spec.livenessProbe, Date.now());
      c.exited = new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          c.process = undefined;
          c.ready = false;
          const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
          // FallbackToLogsOnError: a failed container's message is the tail of its log, as the kubelet writes it.
          const message = exitCode !== 0 && spec.terminationMessagePolicy === 'FallbackToLogsOnError' ? logTail(this.logFile(spec.name)) : undefined;
          c.lastTerminated = {
            exitCode,
            ...(message ? { message } : {}),
            ...(signal ? { signal: constants.signals[signal] } : {}),
            reason: code === 0 ? 'Completed' : 'Error',
            startedAt: started as unknown as Date,
            finishedAt: now() as unknown as Date,
            containerID: `local://${child.pid}`,
          };
          if (!c.stopping && !this.terminating && this.mayRun(c)) {
            c.restartCount += 1;
            const delay = backoffMs(c.restartCount);
            c.backoffUntil = Date.now() + delay;
            c.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${delay / 1000}s restarting failed container=${spec.name} pod=${this.pod.metadata!.name}` };
            this.ctx.log(`${this.name}: container ${spec.name} exited (${code ?? signal}); restarting in ${delay / 1000}s`);
          }
          c.stopping = false;
          resolve();
        }),
      );
      child.once('error', (err) => this.ctx.log(`${this.name}: container ${spec.name}: ${err.message}`));
      this.ctx.log(`${this.name}: started container ${spec.name} (pid ${child.pid})`);
    } catch (err) {
      // A refused securityContext (SecurityRefusal) is a config error, as on a kubelet.
      const reason = err instanceof ImageError ? 'ErrImagePull' : 'CreateContainerConfigError';
      c.waiting = { reason, message: (err as Error).message };
      c.backoffUntil = Date.now() + backoffMs(2);
      this.ctx.log(`${this.name}: container ${spec.name}: ${(err as Error).message}`);
    }
  }

  logFile(container: string): string {
    return join(this.ctx.dir, 'logs', `${this.pod.metadata!.namespace}_${this.pod.metadata!.name}_${container}.log`);
  }

  private probe(c: Container, kind: 'readiness' | 'liveness', at: number): void {
    const spec = kind === 'readiness' ? c.spec.readinessProbe : c.spec.livenessProbe;
    const state = c[kind];
    const proc = c.process;
    if (!spec || !proc || state.inFlight || at < state.nextAt) return;
    state.inFlight = true;
    void runProbe(spec, c.spec, this.sandbox!.ip).then((result) => {
      state.inFlight = false;
      state.nextAt = Date.now() + (spec.periodSeconds ?? 10) * 1000;
      if (c.process !== proc) return;
      if (result.ok) {
        state.successes += 1;
        state.failures = 0;
      } else {
        state.failures += 1;
        state.successes = 0;
      }
      if (kind === 'readiness') {
        if (result.ok && state.successes >= (spec.successThreshold ?? 1)) c.ready = true;
        if (!result.ok && state.failures >= (spec.failureThreshold ?? 3)) c.ready = false;
      } else if (!result.ok && state.failures >= (spec.failureThreshold ?? 3)) {
        this.ctx.log(`${this.name}: container ${c.spec.name} failed its liveness probe (${result.reason}); restarting it`);
        void this.stopContainer(c, this.graceMs(), false);
      }
    });
  }

  private graceMs(): number {
    return Math.min((this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000, MAX_GRACE_MS);
  }

  /** SIGTERM, then SIGKILL after the grace period. final: the pod is going, no restart follows. */
  private async stopContainer(c: Container, graceMs: number, final: boolean): Promise<void> {
    const proc = c.process;
    if (!proc) return;
    if (final) c.stopping = true;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(timer);
  }

  /** Stops every container and the sandbox, and removes the pod's scratch space (not its PVs). */
  async terminate(requestedGraceMs = this.graceMs()): Promise<void> {
    const graceMs = Math.min(requestedGraceMs, MAX_GRACE_MS);
    this.terminating = true;
    await Promise.all(this.containers.map((c) => this.stopContainer(c, graceMs, true)));
    await this.sandbox?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Process ids still running for this pod (containers and sandbox). */
  pids(): number[] {
    return [...this.containers.map((c) => c.pid), this.sandbox?.pid].filter((p): p is number => p !== undefined);
  }

  status(): V1PodStatus {
    const statuses: V1ContainerStatus[] = this.containers.map((c) => {
      const terminated = c.lastTerminated ? { terminated: c.lastTerminated } : undefined;
      const state = c.process
        ? { running: { startedAt: c.startedAt as unknown as Date } }
        : c.waiting
          ? { waiting: c.waiting }
          : terminated && !this.mayRun(c)
            ? terminated
            : { waiting: { reason: 'ContainerCreating', ...(this.setupProblem ? { message: this.setupProblem } : {}) } };
      return {
        name: c.spec.name,
        image: c.spec.image ?? '',
        imageID: `local-pod-runner://${c.spec.image}`,
        ...(c.process ? { containerID: `local://${c.pid}` } : {}),
        ready: c.ready,
        started: c.process !== undefined,
        restartCount: c.restartCount,
        state,
        lastState: c.process || c.waiting ? (terminated ?? {}) : {},
      };
    });
    const allReady = this.containers.every((c) => c.ready);
    const done = this.sandbox && this.containers.every((c) => !c.process && c.lastTerminated && !this.mayRun(c));
    const phase = done
      ? this.containers.every((c) => c.lastTerminated?.exitCode === 0)
        ? 'Succeeded'
        : 'Failed'
      : this.sandbox && this.containers.some((c) => c.process || c.lastTerminated)
        ? 'Running'
        : 'Pending';
    const conditions: V1PodCondition[] = [
      this.condition('PodScheduled', true),
      this.condition('PodReadyToStartContainers', this.sandbox !== undefined),
      this.condition('Initialized', true),
      this.condition('ContainersReady', allReady),
      this.condition('Ready', allReady),
    ];
    return {
      phase,
      conditions,
      hostIP: this.ctx.network.nodeIP,
      hostIPs: [{ ip: this.ctx.network.nodeIP }],
      ...(this.sandbox ? { podIP: this.sandbox.ip, podIPs: [{ ip: this.sandbox.ip }] } : {}),
      ...(this.startTime ? { startTime: this.startTime as unknown as Date } : {}),
      containerStatuses: statuses,
    };
  }

  private condition(type: string, ok: boolean): V1PodCondition {
    const status = ok ? 'True' : 'False';
    const previous = this.transitions.get(type);
    const time = previous?.status === status ? previous.time : now();
    this.transitions.set(type, { status, time });
    return { type, status, lastTransitionTime: time as unknown as Date };
  }

  /** Writes the pod's status when it changed (a merge patch of the status subresource). */
  async reportStatus(): Promise<void> {
    const status = this.status();
    const text = JSON.stringify(status);
    if (text === this.lastStatus) return;
    const meta = this.pod.metadata!;
    await this.ctx.client.request('PATCH', `/api/v1/namespaces/${meta.namespace}/pods/${meta.name}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    });
    this.lastStatus = text;
  }
}
