// Light stand-ins for the tests of init's own behaviour, which need no root (the end-to-end tests
// run the real pods on the local pod runner, test/podrunner). They play the parts of a cluster that
// localcluster lacks: the cloud load balancer (it sets a Service's ingress address and forwards its
// port) and the kubelet (it runs a Deployment's containers as local processes, exactly as the pod
// spec says, with mounted volumes turned into directories and the pod's own address a loopback IP).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Container } from '@kubernetes/client-node';
import { done, notYet, poll } from '../../shared/wait.ts';
import { expandReferences } from '../podrunner/images.ts';
import { statusOf } from './kube.ts';
import { localclusterBin } from './paths.ts';

let nextIP = 10 + (process.pid % 200);
/** A loopback address of its own for each stand-in pod, so pods' ports never collide. */
export function podIP(): string {
  nextIP += 1;
  return `127.0.${nextIP % 250}.${2 + (process.pid % 250)}`;
}

/**
 * Sets the Service's load-balancer ingress to ip and forwards ip:port to the pod's target port; for
 * a NodePort Service, forwards the node port on ip (the node's address here) instead.
 */
export async function playLoadBalancer(kc: KubeConfig, namespace: string, name: string, ip: string): Promise<Server> {
  const core = kc.makeApiClient(CoreV1Api);
  const svc = await poll(
    async () => {
      try {
        return done(await core.readNamespacedService({ name, namespace }));
      } catch (err) {
        if (statusOf(err) === 404) return notYet('no Service yet');
        throw err;
      }
    },
    { what: `Service ${namespace}/${name}`, timeoutMs: 60_000, intervalMs: 100 },
  );
  const port = svc.spec?.ports?.[0];
  const target = Number(port?.targetPort ?? port?.port);
  const server = createServer((socket) => {
    const upstream = createConnection({ host: ip, port: target });
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
  });
  const nodePort = svc.spec?.type === 'NodePort';
  await new Promise<void>((resolve, reject) => server.listen(nodePort ? port?.nodePort : (port?.port ?? 443), ip, resolve).once('error', reject));
  if (!nodePort) {
    svc.status = { loadBalancer: { ingress: [{ ip }] } };
    await core.replaceNamespacedServiceStatus({ name, namespace, body: svc });
  }
  return server;
}

export interface StandInPod {
  ip: string;
  dir: string;
  processes: ChildProcess[];
  stop(): Promise<void>;
}

/** The command line a container runs, with $(VAR) expanded and mounts and localhost moved. */
function containerCommand(c: V1Container, env: Record<string, string>, mounts: Map<string, string>, ip: string): string[] {
  return [...(c.command ?? []), ...(c.args ?? [])].map((arg) => {
    let out = expandReferences(arg, env);
    for (const [mountPath, dir] of mounts) out = out.split(mountPath).join(dir);
    // The pod's localhost and "all addresses" are the pod's own address here (whole addresses only).
    return out.replace(/(?<![\d.])(127\.0\.0\.1|0\.0\.0\.0)(?![\d.])/g, ip);
  });
}

/** Whether something accepts connections at host:port within a second. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1000 });
    const end = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
    socket.once('timeout', () => end(false));
  });
}

/**
 * The kubelet's part in the Deployment's rollout: every pod of the Deployment is reported Running
 * and Ready once each container's readiness port accepts connections at the stand-in's address
 * (the processes started above serve every pod: a light stand-in restarts nothing). Without it the
 * pods stay Pending and init's wait for the rollout, as on a real cluster, never ends.
 */
function reportReady(core: CoreV1Api, namespace: string, labels: Record<string, string>, containers: V1Container[], ip: string): { stop(): Promise<void> } {
  const ports = containers.map((c) => {
    const port = c.readinessProbe?.httpGet?.port ?? c.readinessProbe?.tcpSocket?.port;
    return typeof port === 'number' ? port : undefined;
  });
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  let stopped = false;
  // Bounded like every loop of the tests: a stand-in left running by a failed test ends by itself.
  const until = Date.now() + 20 * 60_000;
  const loop = (async () => {
    while (!stopped && Date.now() < until) {
      try {
        const ready = (await Promise.all(ports.map((p) => (p === undefined ? Promise.resolve(true) : accepts(ip, p))))).every(Boolean);
        const pods = ready ? (await core.listNamespacedPod({ namespace, labelSelector })).items : [];
        for (const pod of pods) {
          if (pod.metadata?.deletionTimestamp || pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
          const now = new Date();
          pod.status = {
            ...pod.status,
            phase: 'Running',
            podIP: ip,
            podIPs: [{ ip }],
            startTime: pod.status?.startTime ?? now,
            conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
            containerStatuses: containers.map((c) => ({ name: c.name, image: c.image ?? '', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } })),
          };
          await core.replaceNamespacedPodStatus({ name: pod.metadata!.name!, namespace, body: pod }).catch(() => undefined);
        }
      } catch {
        // The host may be restarting (a test stops it): the next round tries again.
      }
      await new Promise((resolve) => setTimeout(resolve, 250).unref());
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Runs the pod of a Deployment once its volumes' Secrets exist; images map to local programs. */
export async function playPod(kc: KubeConfig, namespace: string, deployment: string, ip: string): Promise<StandInPod> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const dep = await poll(
    async () => {
      try {
        return done(await apps.readNamespacedDeployment({ name: deployment, namespace }));
      } catch (err) {
        if (statusOf(err) === 404) return notYet('no Deployment yet');
        throw err;
      }
    },
    { what: `Deployment ${namespace}/${deployment}`, timeoutMs: 120_000, intervalMs: 100 },
  );
  const spec = dep.spec!.template.spec!;
  const dir = mkdtempSync(join(tmpdir(), `pod-${deployment}-`));
  const volumes = new Map<string, string>();
  for (const v of spec.volumes ?? []) {
    const path = join(dir, 'volumes', v.name);
    mkdirSync(path, { recursive: true });
    volumes.set(v.name, path);
    if (v.secret) {
      const secret = await core.readNamespacedSecret({ name: v.secret.secretName!, namespace });
      const items = v.secret.items ?? Object.keys(secret.data ?? {}).map((key) => ({ key, path: key }));
      for (const item of items) writeFileSync(join(path, item.path), Buffer.from(secret.data![item.key]!, 'base64'), { mode: 0o600 });
    }
    if (v.configMap) {
      const cm = await core.readNamespacedConfigMap({ name: v.configMap.name!, namespace });
      for (const [key, value] of Object.entries(cm.data ?? {})) writeFileSync(join(path, key), value);
      for (const [key, value] of Object.entries(cm.binaryData ?? {})) writeFileSync(join(path, key), Buffer.from(value, 'base64'));
    }
  }
  const processes: ChildProcess[] = [];
  for (const c of spec.containers) {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = e.value ?? (field === 'status.podIP' ? ip : field === 'metadata.namespace' ? namespace : field === 'metadata.name' ? `${deployment}-standin` : '');
    }
    const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, volumes.get(m.name)!]));
    const [program, ...args] = containerCommand(c, env, mounts, ip);
    // The kube-apiserver and etcd images run the foundation's binary, the Node.js image Node 22.
    const log = openSync(join(dir, `${c.name}.log`), 'a');
    const options = { stdio: ['ignore', log, log] as ('ignore' | number)[], env: { ...process.env, ...env } };
    const child =
      program === 'node' ? spawn(process.execPath, args, options) : spawn(localclusterBin, [basename(program!), ...args], options);
    closeSync(log);
    processes.push(child);
  }
  const reporting = reportReady(core, namespace, dep.spec!.selector.matchLabels ?? {}, spec.containers, ip);
  return {
    ip,
    dir,
    processes,
    stop: async () => {
      await reporting.stop();
      await Promise.all(
        processes.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.exitCode !== null || p.signalCode !== null) return resolve();
              p.once('exit', () => resolve());
              p.kill('SIGTERM');
              setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
            }),
        ),
      );
    },
  };
}
