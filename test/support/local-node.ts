// Local control planes with a node that really runs pods: the node's network (in this process's
// own network namespace), the planes listening on the node's address so pods can reach them, and
// the local pod runner on the first plane. Used by the pod tests and by `make demo`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APISERVER_IMAGE, ETCD_IMAGE, NODE_IMAGE, NODE_VERSION } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import type { ImageMap } from '../podrunner/images.ts';
import { createNodeNetwork, type NodeNetwork } from '../podrunner/network.ts';
import { PodRunner } from '../podrunner/runner.ts';
import { type Planes, startPlanes } from './localcluster.ts';
import { localclusterBin, requireTool } from './paths.ts';

/**
 * The images init deploys, as programs of this machine: the foundation's Go binary for
 * kube-apiserver and etcd (built from the same versions), this Node 22 for the Node.js image.
 */
export function localImages(): ImageMap {
  const localcluster = requireTool(localclusterBin);
  // The image's Node.js and ours must be the same release, or the pods would run something else.
  if (process.version !== `v${NODE_VERSION}`) {
    throw new Error(`${NODE_IMAGE} runs Node.js v${NODE_VERSION}, this is ${process.version}: run through make, or after \`. hack/env.sh\``);
  }
  // As upstream builds it: root by default, the binary with cap_net_bind_service=+ep.
  const apiserver = { programs: { 'kube-apiserver': [localcluster, 'kube-apiserver'] }, user: 0, fileCapabilities: { 'kube-apiserver': ['NET_BIND_SERVICE'] } };
  const etcd = { programs: { etcd: [localcluster, 'etcd'] }, user: 0 };
  const node = { programs: { node: [process.execPath] }, cmd: ['node'], user: 0 };
  const images: ImageMap = {
    [APISERVER_IMAGE]: apiserver,
    // Older tags for the upgrade test: the same binary, since what is tested is init's flow
    // (detection, skew policy, rollout, data kept), not another Kubernetes release.
    ...Object.fromEntries(UPGRADE_TEST_TAGS.map((tag) => [`registry.k8s.io/kube-apiserver:${tag}`, apiserver])),
    [ETCD_IMAGE]: etcd,
    [NODE_IMAGE]: node,
  };
  // What an air-gapped cluster's mirror holds: the same images under TEST_MIRROR.
  for (const [name, image] of Object.entries({ ...images })) images[`${TEST_MIRROR}/${name.slice(name.lastIndexOf('/') + 1)}`] = image;
  // Each region's registry mirror (the overrides test sends each member to its own).
  for (const mirror of REGION_MIRRORS) images[NODE_IMAGE.replace(/^docker\.io\//, `${mirror}/`)] = node;
  return images;
}

/** Registry mirrors per region: the Node.js image under the same repository and tag. */
export const REGION_MIRRORS = ['mirror-eu.registry.test', 'mirror-us.registry.test'];

/** The registry the air-gapped tests mirror every image to (--image-registry, --node-image). */
export const TEST_MIRROR = 'mirror.registry.test:5000/federation';

/** kube-apiserver tags the local images answer besides the pinned one (see localImages). */
export const UPGRADE_TEST_TAGS = ['v1.35.9', 'v1.36.9'];

export interface LocalNode {
  planes: Planes;
  network: NodeNetwork;
  runner: PodRunner;
  /** Runners of the first plane's further nodes (hostNodes > 1): they run pods, `runner` schedules them. */
  hostRunners: PodRunner[];
  /** Runners of the other planes that asked for a node (members), by plane name. */
  memberRunners: Map<string, PodRunner>;
  /** The runner's directory: runner.log, logs/ of every container, volumes/. */
  dir: string;
  stop(): Promise<void>;
}

export interface LocalNodeOptions {
  /** Plane names; the first gets the node. */
  names: string[];
  /**
   * Which addresses and bridge names this node takes (default 0): test files that run at the same
   * time in the run's network namespace each take their own, so their networks never collide.
   */
  slot?: number;
  /** Whether the first plane's runner serves Services (default true; member nodes always do). */
  serveServices?: boolean;
  /**
   * Further planes that run pods too (members whose workloads must become Available), each on a
   * node network of its own; they serve no Services (the first plane's runner does).
   */
  memberNodes?: string[];
  /**
   * How many nodes the first plane has (default 1): a host whose pods the scheduler spreads. Each
   * further node takes a network the member nodes would otherwise use (four per slot in all).
   */
  hostNodes?: number;
  lifetimeMs: number;
  verbose?: boolean;
}

export async function startLocalNode(opts: LocalNodeOptions): Promise<LocalNode> {
  const slot = opts.slot ?? 0;
  // Slot s owns 10.244.(4s .. 4s+3) for nodes and 10.245.(4s .. 4s+3) for load balancers.
  const octet = (i: number) => slot * 4 + i;
  const network = await createNodeNetwork(`kf${slot}node0`, `10.244.${octet(0)}`);
  const dir = mkdtempSync(join(tmpdir(), 'pod-runner-'));
  let planes: Planes | undefined;
  let runner: PodRunner | undefined;
  const memberRunners = new Map<string, PodRunner>();
  const hostRunners: PodRunner[] = [];
  const memberNetworks: NodeNetwork[] = [];
  const hostNodes = opts.hostNodes ?? 1;
  if (hostNodes < 1 || hostNodes - 1 + (opts.memberNodes?.length ?? 0) > 3) throw new Error('startLocalNode: at most four nodes per slot (hostNodes + memberNodes)');
  const stop = async () => {
    for (const r of memberRunners.values()) await r.stop();
    for (const r of hostRunners) await r.stop();
    for (const n of memberNetworks) await n.close();
    await runner?.stop();
    await planes?.stop();
    await network.close();
    rmSync(dir, { recursive: true, force: true });
    if (planes) rmSync(planes.dir, { recursive: true, force: true });
  };
  try {
    // Every plane its own Service range (by slot and position), so each node serves its cluster's
    // Service IPs, as kube-proxy would, though all nodes share the run's network namespace.
    planes = await startPlanes(opts.names, undefined, network.nodeIP, opts.names.map((_, j) => `10.${100 + slot * 8 + j}.0.0/16`));
    const hostName = opts.names[0]!;
    const host = planes.planes.find((p) => p.name === hostName)!;
    const client = new RestClient(await credentialsFor(Kubeconfig.load(planes.kubeconfig).resolve(hostName)));
    runner = await PodRunner.start({
      client,
      network,
      images: localImages(),
      dir,
      apiserver: { host: host.bindAddress, port: host.apiserverPort },
      loadBalancerSubnet: `10.245.${octet(0)}`,
      lifetimeMs: opts.lifetimeMs,
      serveServices: opts.serveServices ?? true,
      verbose: opts.verbose ?? process.env.POD_RUNNER_VERBOSE === '1',
    });
    for (let n = 1; n < hostNodes; n++) {
      const nodeNetwork = await createNodeNetwork(`kf${slot}node${n}`, `10.244.${octet(n)}`);
      memberNetworks.push(nodeNetwork);
      hostRunners.push(
        await PodRunner.start({
          client: new RestClient(await credentialsFor(Kubeconfig.load(planes.kubeconfig).resolve(hostName))),
          network: nodeNetwork,
          images: localImages(),
          dir: join(dir, `node-${n}`),
          nodeName: `local-node-${n + 1}`,
          apiserver: { host: host.bindAddress, port: host.apiserverPort },
          loadBalancerSubnet: `10.245.${octet(n)}`,
          lifetimeMs: opts.lifetimeMs,
          // The first node serves the plane's Services and schedules for every node.
          serveServices: false,
          schedule: false,
          verbose: opts.verbose ?? process.env.POD_RUNNER_VERBOSE === '1',
        }),
      );
    }
    for (const [j, name] of (opts.memberNodes ?? []).entries()) {
      const plane = planes.planes.find((p) => p.name === name);
      if (!plane) throw new Error(`memberNodes: no plane ${name}`);
      const i = j + hostNodes - 1;
      const memberNetwork = await createNodeNetwork(`kf${slot}node${i + 1}`, `10.244.${octet(i + 1)}`);
      memberNetworks.push(memberNetwork);
      const memberDir = join(dir, `node-${name}`);
      memberRunners.set(
        name,
        await PodRunner.start({
          client: new RestClient(await credentialsFor(Kubeconfig.load(planes.kubeconfig).resolve(name))),
          network: memberNetwork,
          images: localImages(),
          dir: memberDir,
          apiserver: { host: plane.bindAddress, port: plane.apiserverPort },
          loadBalancerSubnet: `10.245.${octet(i + 1)}`,
          lifetimeMs: opts.lifetimeMs,
          serveServices: true,
          verbose: opts.verbose ?? process.env.POD_RUNNER_VERBOSE === '1',
        }),
      );
    }
    return { planes, network, runner, hostRunners, memberRunners, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
