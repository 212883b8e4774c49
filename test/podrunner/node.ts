// The node as the API server knows it: a Node object with the address, capacity and Ready
// condition a kubelet reports, and the Lease it renews so the node lifecycle controller keeps it
// Ready (and never evicts its pods).
import { arch, release } from 'node:os';
import type { V1Lease, V1Node } from '@kubernetes/client-node';
import { KUBERNETES_VERSION } from '../../shared/constants.ts';
import { ApiError, type RestClient } from '../../shared/kube/rest.ts';
import { kubeTime, microTime } from '../../shared/kube/time.ts';

const LEASE_SECONDS = 40;
export const HEARTBEAT_MS = 10_000;

const goArch = (): string => ({ x64: 'amd64', arm64: 'arm64' })[arch() as 'x64' | 'arm64'] ?? arch();

export async function registerNode(client: RestClient, name: string, address: string): Promise<void> {
  const node: V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': goArch() } },
  };
  try {
    await client.request('POST', '/api/v1/nodes', { body: node });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
  const resources = { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '50Gi' };
  const t = kubeTime();
  await client.request('PATCH', `/api/v1/nodes/${name}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        capacity: resources,
        allocatable: resources,
        addresses: [
          { type: 'InternalIP', address },
          { type: 'Hostname', address: name },
        ],
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'local pod runner is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t },
          ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'False', reason: `KubeletHasNo${type}`, lastHeartbeatTime: t, lastTransitionTime: t })),
        ],
        nodeInfo: {
          machineID: name,
          systemUUID: name,
          bootID: String(process.pid),
          kernelVersion: release(),
          osImage: 'local pod runner',
          containerRuntimeVersion: 'local://processes',
          kubeletVersion: `${KUBERNETES_VERSION}-local-pod-runner`,
          kubeProxyVersion: '',
          operatingSystem: 'linux',
          architecture: goArch(),
        },
      },
    },
  });
  await renewLease(client, name);
}

export async function renewLease(client: RestClient, name: string): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`;
  const existing = await client.find<V1Lease>(path);
  if (existing) {
    await client.request('PATCH', path, { contentType: 'application/merge-patch+json', body: { spec: { renewTime: microTime() } } });
    return;
  }
  await client.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
    body: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() },
    },
  });
}

/**
 * What a kubelet's status loop does after an outage: the node lifecycle controller set Ready to
 * Unknown while the API server could not hear from us; we post Ready=True again (and the pressure
 * conditions) as soon as we are heard again, instead of leaving the node Unknown for ever.
 */
export async function keepNodeReady(client: RestClient, name: string): Promise<boolean> {
  const node = await client.get<V1Node>(`/api/v1/nodes/${name}`);
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return false;
  const t = kubeTime();
  await client.request('PATCH', `/api/v1/nodes/${name}/status`, {
    contentType: 'application/strategic-merge-patch+json',
    body: {
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'local pod runner is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t },
          ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'False', reason: `KubeletHasNo${type}`, lastHeartbeatTime: t, lastTransitionTime: t })),
        ],
      },
    },
  });
  return true;
}

export async function deregisterNode(client: RestClient, name: string): Promise<void> {
  await client.request('DELETE', `/api/v1/nodes/${name}`).catch(() => undefined);
}
