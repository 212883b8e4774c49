// The node's network, inside a network namespace the test run created for itself (see
// test/support/netns.ts): a bridge holding the node's address, and one network namespace per pod
// joined to the bridge by a veth pair, so a pod's containers share localhost as in Kubernetes.
// Service and load-balancer addresses are local addresses of the node (on lo), answered by the
// runner's own proxy (services.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { assertOwnNetns, currentNetns } from '../support/netns.ts';
import { run } from './commands.ts';

export interface NodeNetwork {
  bridge: string;
  /** The node's address: where the local control planes listen and NodePorts answer. */
  nodeIP: string;
  prefixLength: number;
  /** An unused pod address of the node's subnet. */
  allocatePodIP(): string;
  releasePodIP(ip: string): void;
  /** Makes ip a local address of the node (for Service and load-balancer addresses). */
  addLocalAddress(ip: string): Promise<void>;
  removeLocalAddress(ip: string): Promise<void>;
  close(): Promise<void>;
}

/** subnet is the first three octets of a /24: the node is .1, pods get .2 to .254. */
export async function createNodeNetwork(bridge: string, subnet: string): Promise<NodeNetwork> {
  assertOwnNetns();
  const nodeIP = `${subnet}.1`;
  // Pods of different nodes (bridges) reach each other through this namespace, as through a
  // cluster's pod network; the setting is the run's own namespace's, never the machine's.
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${nodeIP}/24`, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
  const used = new Set<number>();
  const local = new Set<string>();
  const network: NodeNetwork = {
    bridge,
    nodeIP,
    prefixLength: 24,
    allocatePodIP() {
      for (let host = 2; host < 255; host++) {
        if (!used.has(host)) {
          used.add(host);
          return `${subnet}.${host}`;
        }
      }
      throw new Error(`no pod address left in ${subnet}.0/24`);
    },
    releasePodIP(ip) {
      used.delete(Number(ip.split('.')[3]));
    },
    async addLocalAddress(ip) {
      if (local.has(ip)) return;
      await run('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
      local.add(ip);
    },
    async removeLocalAddress(ip) {
      if (!local.delete(ip)) return;
      await run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']);
    },
    async close() {
      for (const ip of [...local]) await network.removeLocalAddress(ip).catch(() => undefined);
      await run('ip', ['link', 'del', bridge]).catch(() => undefined);
    },
  };
  return network;
}

/**
 * A pod's sandbox: a process that only holds the pod's network namespace (Kubernetes' pause
 * container). The namespace, and its end of the veth pair, vanish with this process, so nothing
 * outlives the runner; the kernel kills the process if the runner dies (parent-death signal).
 */
export interface Sandbox {
  ip: string;
  pid: number;
  /** For nsenter --net=...: how containers join the pod's network. */
  netnsPath: string;
  stop(): Promise<void>;
}

let vethCounter = 0;

function namespaceOf(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

export async function createSandbox(net: NodeNetwork): Promise<Sandbox> {
  const ip = net.allocatePodIP();
  const pause: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', 'unshare', '--net', '--', 'sleep', 'infinity'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => pause.once('exit', () => resolve()));
  const stop = async () => {
    if (pause.exitCode === null && pause.signalCode === null) pause.kill('SIGKILL');
    await exited;
    net.releasePodIP(ip);
  };
  try {
    const pid = pause.pid;
    if (pid === undefined) throw new Error('could not start the pod sandbox');
    const netnsPath = `/proc/${pid}/ns/net`;
    // unshare runs before it execs sleep: wait until the process holds a namespace of its own.
    for (let i = 0; namespaceOf(netnsPath) === currentNetns(); i++) {
      if (i === 100 || pause.exitCode !== null) throw new Error('the pod sandbox never got a network namespace');
      await new Promise((r) => setTimeout(r, 20));
    }
    vethCounter += 1;
    const hostSide = `kfv${process.pid % 10000}x${vethCounter}`.slice(0, 15);
    await run('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid)]);
    await run('ip', ['link', 'set', hostSide, 'master', net.bridge, 'up']);
    const inPod = (...args: string[]) => run('nsenter', [`--net=${netnsPath}`, 'ip', ...args]);
    await inPod('link', 'set', 'lo', 'up');
    await inPod('addr', 'add', `${ip}/${net.prefixLength}`, 'dev', 'eth0');
    await inPod('link', 'set', 'eth0', 'up');
    await inPod('route', 'add', 'default', 'via', net.nodeIP);
    return { ip, pid, netnsPath, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
