// Deletion: an object deleted in the federation keeps our finalizer until every reachable member has
// let go of its copy (or it asked to orphan them, or an unreachable member outlasted
// --deletion-timeout); and, as Kubernetes' namespace controller would (the federation runs none), a
// terminating namespace is emptied and its "kubernetes" finalizer removed.
import { resourcePath } from '../../shared/kube/discovery.ts';
import { ApiError, ConnectionError, isNotFound, type RestClient } from '../../shared/kube/rest.ts';
import { refusedByGuard } from '../../shared/manifests/member.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL, PROPAGATION_FINALIZER } from '../../shared/propagation/annotations.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import type { EventRecorder } from '../events.ts';
import type { MemberRegistry } from '../members.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { objectKey } from '../runtime/reflector.ts';
import type { FederationObjects } from './federation-objects.ts';
import type { MemberWatches } from './member-watches.ts';
import type { PulledCopies } from './pulled-copies.ts';
import { DELETE_IN_BACKGROUND, describeMemberError, type Kind } from './types.ts';

export interface DeletionOptions {
  federation: RestClient;
  members: MemberRegistry;
  watches: MemberWatches;
  pulled: PulledCopies;
  objects: FederationObjects;
  events: EventRecorder;
  federationId: string;
  deletionTimeoutMs: number;
  log: (line: string) => void;
}

type CopyState = 'gone' | 'pending' | 'unreachable';

export class Deletion {
  private readonly o: DeletionOptions;
  /** "cluster|id/key" looked up directly and found gone: once per deletion, not on every pass. */
  private readonly confirmedGone = new Set<string>();

  constructor(o: DeletionOptions) {
    this.o = o;
  }

  /** The object as the server answered, or undefined when it is gone. */
  async setFinalizer(kind: Kind, fed: FederatedObject, finalizers: string[]): Promise<FederatedObject | undefined> {
    try {
      // resourceVersion makes it a precondition: a concurrent change fails (409) and is retried.
      return await this.o.federation.request<FederatedObject>('PATCH', resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name), {
        body: { metadata: { finalizers, resourceVersion: fed.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return undefined;
    }
  }

  /** The object is being deleted: its copies go first (unless orphaned), then the finalizer. */
  async deleteCopies(kind: Kind, fed: FederatedObject): Promise<ReconcileResult | void> {
    if (!fed.metadata.finalizers?.includes(PROPAGATION_FINALIZER)) return;
    if (!this.orphaned(fed)) {
      const released = await this.release(kind, fed);
      if (released !== 'released') return released;
    }
    await this.drop(kind, fed);
  }

  /**
   * A terminating namespace of the federation: what is inside is deleted first, then the members'
   * copies of the namespace, then our finalizer and the "kubernetes" one. The copies go even when
   * our finalizer never made it onto the namespace (a namespace reaches a member with the first
   * object inside it, before its own reconcile may have held it): the namespace cannot be gone
   * before we finalize it, so no member keeps a namespace the federation deleted.
   */
  async deleteNamespace(kind: Kind | undefined, ns: FederatedObject): Promise<ReconcileResult | void> {
    if (!(await this.emptyNamespace(ns))) return { requeueAfterMs: 1000 };
    if (kind && !this.orphaned(ns)) {
      const released = await this.release(kind, ns);
      if (released !== 'released') return released;
    }
    const now = ns.metadata.finalizers?.includes(PROPAGATION_FINALIZER) && kind ? await this.drop(kind, ns) : ns;
    if (now) await this.finalizeNamespace(now);
  }

  private orphaned(fed: FederatedObject): boolean {
    if (fed.metadata.annotations?.[ANNOTATIONS.orphan] !== 'true') return false;
    void this.o.events.record(fed, 'Normal', 'Orphaned', `${fed.kind} ${objectKey(fed.metadata)} was deleted from the federation; its copies stay in the members (${ANNOTATIONS.orphan}=true)`);
    return true;
  }

  private drop(kind: Kind, fed: FederatedObject): Promise<FederatedObject | undefined> {
    return this.setFinalizer(kind, fed, (fed.metadata.finalizers ?? []).filter((f) => f !== PROPAGATION_FINALIZER));
  }

  /** Asks every member to delete its copy; 'released' once none is left but in members unreachable past --deletion-timeout. */
  private async release(kind: Kind, fed: FederatedObject): Promise<ReconcileResult | 'released'> {
    const what = `${fed.kind} ${objectKey(fed.metadata)}`;
    const states = await Promise.all(this.o.members.names().map(async (cluster) => ({ cluster, state: await this.deleteCopy(kind, fed, cluster) })));
    if (!states.some((s) => s.state === 'pending')) for (const c of this.o.members.names()) this.confirmedGone.delete(`${c}|${kind.id}/${objectKey(fed.metadata)}`);
    const unreachable = states.filter((s) => s.state === 'unreachable').map((s) => s.cluster);
    if (states.some((s) => s.state === 'pending')) return { requeueAfterMs: 1000 };
    const since = Date.parse(fed.metadata.deletionTimestamp ?? '') || Date.now();
    if (unreachable.length > 0 && Date.now() - since < this.o.deletionTimeoutMs) {
      await this.o.events.record(fed, 'Warning', 'WaitingForMembers', `cannot reach ${unreachable.join(', ')} to delete the copies of ${what}; waiting up to ${Math.round(this.o.deletionTimeoutMs / 1000)}s (--deletion-timeout) before leaving them`);
      return { requeueAfterMs: 5000 };
    }
    if (unreachable.length > 0) {
      await this.o.events.record(fed, 'Warning', 'CopiesLeft', `the copies of ${what} in ${unreachable.join(', ')} could not be deleted (unreachable); delete them there by label ${PROPAGATED_BY_LABEL}=${this.o.federationId}`);
    }
    return 'released';
  }

  /**
   * One member's copy: asks for its deletion and says whether it is gone. The watch's cache says
   * where a copy is; a copy the cache does not show is looked up directly before it counts as gone,
   * so a watch that fell behind (a re-list after a faulty link) never lets the finalizer go early.
   */
  private async deleteCopy(kind: Kind, fed: FederatedObject, cluster: string): Promise<CopyState> {
    // A pull member's agent deletes the copy when its carrier goes, then its report.
    if (this.o.pulled.isPull(cluster)) return this.o.pulled.remove(cluster, `${kind.id}/${objectKey(fed.metadata)}`);
    const watch = await this.o.watches.synced(cluster, kind);
    if ('message' in watch) {
      // A member that does not serve the kind holds no copy of it; one whose role does not cover the
      // kind could never have been given one: neither is waited for as if unreachable.
      if (watch.waitsFor === 'soon') return 'gone';
      if (watch.waitsFor === 'forbidden') {
        this.o.log(`${fed.kind} ${objectKey(fed.metadata)}: ${watch.message}; not waited for`);
        return 'gone';
      }
      return 'unreachable';
    }
    const client = await this.o.members.syncClient(cluster);
    if ('kind' in client) return 'unreachable';
    const path = resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name);
    // A Secret's copy cannot be seen: deleted by name until the member says it is gone (or, by its
    // admission policy, that it is not ours).
    if (watch.blind) {
      try {
        await client.request('DELETE', path, { body: DELETE_IN_BACKGROUND });
        return 'pending';
      } catch (err) {
        if (isNotFound(err) || (err instanceof ApiError && refusedByGuard(err.message))) return 'gone';
        return err instanceof ConnectionError ? 'unreachable' : 'pending';
      }
    }
    try {
      let copy = watch.reflector.items.get(objectKey(fed.metadata));
      const memo = `${cluster}|${kind.id}/${objectKey(fed.metadata)}`;
      if (!copy) {
        if (this.confirmedGone.has(memo)) return 'gone';
        const found = await client.find<FederatedObject>(path);
        if (!found || found.metadata.labels?.[PROPAGATED_BY_LABEL] !== this.o.federationId) {
          this.confirmedGone.add(memo);
          return 'gone';
        }
        this.o.log(`${fed.kind} ${objectKey(fed.metadata)}: cluster ${cluster} still holds a copy its watch did not show; deleting it`);
        copy = found;
      }
      if (!copy.metadata.deletionTimestamp) await client.request('DELETE', path, { body: DELETE_IN_BACKGROUND });
      return 'pending';
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      if (err instanceof ConnectionError) return 'unreachable';
      this.o.log(describeMemberError(err, cluster, `deleting ${fed.kind} ${objectKey(fed.metadata)}`, kind.resource.plural).message);
      return 'pending';
    }
  }

  /** Deletes everything in a terminating namespace of the federation; true once it is empty. */
  private async emptyNamespace(ns: FederatedObject): Promise<boolean> {
    const name = ns.metadata.name;
    let empty = true;
    for (const r of await this.o.objects.namespacedResources()) {
      const path = resourcePath(r, name);
      const list = await this.o.federation.get<{ items: unknown[] }>(path, { query: { limit: 1 } });
      if (list.items.length === 0) continue;
      empty = false;
      await this.o.federation.request('DELETE', path, { body: DELETE_IN_BACKGROUND });
    }
    return empty;
  }

  /** Removes the "kubernetes" finalizer of an empty terminating namespace, so it can go. */
  private async finalizeNamespace(ns: FederatedObject): Promise<void> {
    const finalizers = (ns.spec?.finalizers as string[] | undefined) ?? [];
    if (!finalizers.includes('kubernetes')) return;
    try {
      await this.o.federation.request('PUT', `/api/v1/namespaces/${encodeURIComponent(ns.metadata.name)}/finalize`, {
        // The whole object: finalize takes metadata (our own finalizer among it) from the body.
        body: { ...ns, apiVersion: 'v1', kind: 'Namespace', spec: { ...ns.spec, finalizers: finalizers.filter((f) => f !== 'kubernetes') } },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
