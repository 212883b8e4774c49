// A workload's pods replaced after a change to its template, and the wait until they all are: what
// `certs renew` does to load new files, and what init waits for when it changes a highly available
// plane (an upgrade rolls one replica at a time).
import type { RestClient } from './rest.ts';
import { done, notYet, poll } from '../wait.ts';

export type Workload = 'deployments' | 'statefulsets';

/**
 * A merge patch of a workload's pod-template annotation: the pods restart and load the new files,
 * one replica at a time where there are several (the API servers' surge, etcd's rolling update).
 */
export async function roll(host: RestClient, namespace: string, deployment: string, annotation: string, value: string, workload: Workload = 'deployments'): Promise<void> {
  await host.request('PATCH', `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${workload}/${deployment}`, {
    body: { spec: { template: { metadata: { annotations: { [annotation]: value } } } } },
    contentType: 'application/merge-patch+json',
  });
}

export async function rolledOut(
  host: RestClient,
  namespace: string,
  deployment: string,
  workload: Workload = 'deployments',
  opts: { timeoutMs?: number; onWait?: (ms: number, reason: string) => void } = {},
): Promise<void> {
  await poll(
    async () => {
      const d = await host.get<{
        metadata: { generation: number };
        spec: { replicas?: number };
        status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number; replicas?: number; currentRevision?: string; updateRevision?: string };
      }>(`/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${workload}/${deployment}`);
      const want = d.spec.replicas ?? 1;
      const s = d.status ?? {};
      const settled = workload === 'statefulsets' ? s.currentRevision === s.updateRevision && s.readyReplicas === want : s.availableReplicas === want;
      return (s.observedGeneration ?? 0) >= d.metadata.generation && s.updatedReplicas === want && s.replicas === want && settled
        ? done(true)
        : notYet(`${s.updatedReplicas ?? 0} of ${want} updated, ${s.availableReplicas ?? s.readyReplicas ?? 0} available`);
    },
    { what: `${workload === 'statefulsets' ? 'StatefulSet' : 'Deployment'} ${namespace}/${deployment} to roll out`, timeoutMs: opts.timeoutMs ?? 5 * 60_000, intervalMs: 500, ...(opts.onWait ? { onWait: opts.onWait } : {}) },
  );
}

