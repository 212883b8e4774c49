// Records: what the federation tells users about an object's propagation. Its native status combined
// from the members' copies (what `kubectl get` and `rollout status` read), and its Propagation record
// (`kubectl get propagations`), written only when it changed. The record is a report: it is held
// back to once a second while copies are still changing, and a failed write is never retried.
import { FEDERATION_API_VERSION } from '../../shared/constants.ts';
import { errorMessage } from '../../shared/errors.ts';
import { apiVersionOf, resourcePath } from '../../shared/kube/discovery.ts';
import { isNotFound, type RestClient } from '../../shared/kube/rest.ts';
import { kubeTime } from '../../shared/kube/time.ts';
import type { Propagation, PropagationClusterStatus, RolloutRecord } from '../../shared/manifests/federation-api.ts';
import { REVISION_ANNOTATION } from '../../shared/propagation/revisions.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { aggregateStatus, type MemberCopy, type StageCondition, statusDiffers } from '../../shared/propagation/status.ts';
import { objectKey } from '../runtime/reflector.ts';
import { type ClusterOutcome, CONTROLLER_MANAGER_FIELD_MANAGER, digestOf, type Kind, RECORDS_NAMESPACE, recordName } from './types.ts';

const RECORD_INTERVAL_MS = 1000;

export interface RecordsOptions {
  federation: RestClient;
  log: (line: string) => void;
}

export class Records {
  private readonly o: RecordsOptions;
  private readonly written = new Map<string, { digest: string; at: number }>();

  constructor(o: RecordsOptions) {
    this.o = o;
  }

  /** The object's native status from its copies; `nothing` says why no member runs it. */
  async writeStatus(kind: Kind, fed: FederatedObject, outcomes: ClusterOutcome[], nothing?: string, rollout?: { target: string; stage?: StageCondition }): Promise<void> {
    if (!kind.resource.status) return;
    const copies: MemberCopy[] = outcomes.map((o) => {
      const runs = o.copy?.metadata.annotations?.[REVISION_ANNOTATION];
      return { cluster: o.cluster, current: o.current, reachable: o.reachable, ...(o.copy ? { object: o.copy } : {}), ...(rollout && runs && runs !== rollout.target ? { outdated: true } : {}) };
    });
    const prev = fed.status;
    const status = aggregateStatus(fed.kind, fed.metadata.generation ?? 0, copies, prev, kubeTime(), nothing, rollout?.stage);
    if (!status || !statusDiffers(prev, status)) return;
    try {
      await this.o.federation.request('PATCH', resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name, 'status'), {
        body: { status },
        contentType: 'application/merge-patch+json',
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Writes the object's Propagation record when it changed, at most once a second per object while
   * its copies are still changing. Returns when to come back for a write held back.
   */
  async writeRecord(kind: Kind, fed: FederatedObject, outcomes: ClusterOutcome[], message?: string, placedBy?: string[], rollout?: RolloutRecord): Promise<number | undefined> {
    const clusters: PropagationClusterStatus[] = outcomes.map((o) => ({
      cluster: o.cluster,
      applied: o.applied,
      healthy: o.healthy,
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      ...(o.generation !== undefined ? { generation: o.generation } : {}),
      ...(o.observedGeneration !== undefined ? { observedGeneration: o.observedGeneration } : {}),
      ...(o.error ? { error: o.error } : {}),
      ...(o.keptUntil ? { keptUntil: o.keptUntil } : {}),
      ...(o.reachable ? {} : { reachable: false }),
      ...(o.overrides?.length ? { overrides: o.overrides } : {}),
      ...(o.revision !== undefined ? { revision: o.revision } : {}),
      ...(o.stage !== undefined ? { stage: o.stage } : {}),
      ...(o.waiting ? { waiting: o.waiting } : {}),
    }));
    const record: Propagation = {
      apiVersion: FEDERATION_API_VERSION,
      kind: 'Propagation',
      metadata: { name: recordName(kind.resource, fed.metadata.name), namespace: fed.metadata.namespace ?? RECORDS_NAMESPACE },
      spec: { resource: { apiVersion: apiVersionOf(kind.resource), kind: fed.kind, name: fed.metadata.name, ...(fed.metadata.namespace ? { namespace: fed.metadata.namespace } : {}) } },
      status: {
        clusterNames: clusters.map((c) => c.cluster).join(','),
        applied: `${clusters.filter((c) => c.applied).length}/${clusters.length}`,
        healthy: `${clusters.filter((c) => c.healthy).length}/${clusters.length}`,
        clusters,
        ...(message ? { message } : {}),
        ...(placedBy?.length ? { placedBy } : {}),
        ...(rollout ? { rollout } : {}),
      },
    };
    const key = `${record.metadata.namespace}/${record.metadata.name}`;
    const digest = digestOf(record);
    const last = this.written.get(key);
    if (last?.digest === digest) return undefined;
    // Held back only while the copies are still changing: a settled record (every member applied and
    // healthy, or nothing to propagate) is written at once, so it is current when a rollout is.
    const settled = clusters.every((c) => c.applied && c.healthy);
    const since = Date.now() - (last?.at ?? 0);
    if (!settled && since < RECORD_INTERVAL_MS) return RECORD_INTERVAL_MS - since;
    try {
      await this.o.federation.request('PATCH', `/apis/${FEDERATION_API_VERSION}/namespaces/${encodeURIComponent(record.metadata.namespace)}/propagations/${encodeURIComponent(record.metadata.name)}`, {
        body: record,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: CONTROLLER_MANAGER_FIELD_MANAGER, force: true },
      });
      this.written.set(key, { digest, at: Date.now() });
    } catch (err) {
      // A terminating namespace refuses new records; the record is a report, never worth a retry.
      this.o.log(`${fed.kind} ${objectKey(fed.metadata)}: writing its Propagation record failed: ${errorMessage(err)}`);
    }
    return undefined;
  }

  async deleteRecord(kind: Kind, objKey: string): Promise<void> {
    const slash = objKey.indexOf('/');
    const namespace = kind.resource.namespaced ? objKey.slice(0, slash) : RECORDS_NAMESPACE;
    const name = recordName(kind.resource, kind.resource.namespaced ? objKey.slice(slash + 1) : objKey);
    const key = `${namespace}/${name}`;
    // Sent even when this process wrote no record for it: one may be left from before a restart.
    this.written.delete(key);
    try {
      await this.o.federation.request('DELETE', `/apis/${FEDERATION_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/propagations/${encodeURIComponent(name)}`);
    } catch (err) {
      if (!isNotFound(err)) this.o.log(`deleting the Propagation record ${key} failed: ${errorMessage(err)}`);
    }
  }
}
