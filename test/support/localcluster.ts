// Test support: real local control planes (etcd + kube-apiserver + kube-controller-manager) from
// the project's Go binary. A test run starts one shared set (see test/run.ts); a test that must
// break a plane (stop its API server, say) starts its own with startPlanes.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localclusterBin, requireTool } from './paths.ts';

export interface PlaneState {
  name: string;
  dir: string;
  apiserverPort: number;
  bindAddress: string;
}

export interface Planes {
  dir: string;
  kubeconfig: string;
  planes: PlaneState[];
  /** Seconds from spawning `up` until it said the planes were ready. */
  startSeconds: number;
  /** Stops or starts one component (e.g. 'kube-apiserver') of one plane, keeping its address. */
  control(verb: 'stop' | 'start', plane: string, component: string): Promise<void>;
  stop(): Promise<void>;
}

interface StateFile {
  pid: number;
  kubeconfig: string;
  control: string;
  planes: PlaneState[];
}

function readStateFile(dir: string): StateFile {
  return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateFile;
}

function controlRequest(socketPath: string, verb: string, plane: string, component: string): Promise<void> {
  const path = `/${verb}?plane=${encodeURIComponent(plane)}&component=${encodeURIComponent(component)}`;
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', timeout: 180_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`localcluster ${verb}: ${body.trim()}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`localcluster ${verb} ${plane} ${component} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Attaches to planes that are already running from dir (started by test/run.ts). */
export function attachPlanes(dir: string): Planes {
  const state = readStateFile(dir);
  return {
    dir,
    kubeconfig: state.kubeconfig,
    planes: state.planes,
    startSeconds: 0,
    control: (verb, plane, component) => controlRequest(state.control, verb, plane, component),
    // Shared planes belong to the whole run: test/run.ts stops them at its end.
    stop: async () => {},
  };
}

/** Starts named control planes and resolves once all answer; rejects with up's own message. */
export async function startPlanes(
  names: string[],
  dir = mkdtempSync(join(tmpdir(), 'localcluster-')),
  bindAddress = '127.0.0.1',
  /** Service cluster IP ranges by plane (default 10.96.0.0/16 each): distinct where nodes share a network. */
  serviceCIDRs: string[] = [],
): Promise<Planes> {
  const began = performance.now();
  const cidrs = serviceCIDRs.length > 0 ? ['--service-cidrs', serviceCIDRs.join(',')] : [];
  const child: ChildProcess = spawn(requireTool(localclusterBin), ['up', '--dir', dir, '--bind-address', bindAddress, ...cidrs, ...names], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    // Crashes reported after start are worth seeing in the test output.
    process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready in')) resolve();
    });
    void exited.then((code) => reject(new Error(`localcluster up exited (${code}): ${stderr.trim()}`)));
  });
  const startSeconds = (performance.now() - began) / 1000;
  const state = readStateFile(dir);
  return {
    dir,
    kubeconfig: state.kubeconfig,
    planes: state.planes,
    startSeconds,
    control: (verb, plane, component) => controlRequest(state.control, verb, plane, component),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The planes of this test run: the shared ones when test/run.ts started them, else new ones. */
export async function testPlanes(names: string[]): Promise<Planes> {
  const shared = process.env.LOCALCLUSTER_DIR;
  if (shared) {
    const planes = attachPlanes(shared);
    const missing = names.filter((n) => !planes.planes.some((p) => p.name === n));
    if (missing.length === 0) return planes;
  }
  return startPlanes(names);
}
