// The members' side of propagation: per member and kind, a watch of this federation's copies (whole)
// and of the member's other objects of the kind (metadata only: what a new copy must not overwrite).
// Watches start at first use, only enqueue, and stop when the member leaves or changes.
import { FEDERATION_LABEL } from '../../shared/constants.ts';
import { ApiError } from '../../shared/kube/rest.ts';
import { resourcePath } from '../../shared/kube/discovery.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import type { MemberRegistry } from '../members.ts';
import type { Enqueue } from '../runtime/controller.ts';
import { objectKey, Reflector } from '../runtime/reflector.ts';
import { type Kind, kindNotServed, type WaitsFor } from './types.ts';

/** Why a member's copies of a kind cannot be read now, and what that asks of us. */
export interface NotListed {
  message: string;
  /** forbidden: the member's role does not cover the kind (a join with fewer kinds): no copy can be there or be made. */
  waitsFor: WaitsFor | 'forbidden';
}

export interface MemberWatch {
  /** This federation's copies, whole. */
  reflector: Reflector<FederatedObject>;
  /** Every other object of the kind in the member: name, and whose copy it is if another federation's. */
  foreign: Reflector<FederatedObject>;
  stop: AbortController;
  /**
   * Secrets: the federation's identity may write them but never read them (join's role), so they
   * are not watched: dispatch writes without looking, and the member's admission policy refuses to
   * overwrite a Secret the federation did not make. The reflectors stay empty.
   */
  blind?: true;
}

/** The kinds written without being read in members. */
export const isBlind = (kind: Kind): boolean => kind.resource.group === '' && kind.resource.plural === 'secrets';

export interface MemberWatchOptions {
  members: MemberRegistry;
  federationId: string;
  enqueue: Enqueue;
  /** A pull member's copy, as its agent reported it (no watch reaches a pull member). */
  pulledCopy: (cluster: string, key: string) => FederatedObject | undefined;
  /** What the caches keep of an object (the federation side's rule, shared). */
  keep: (kind: Kind, obj: FederatedObject) => FederatedObject;
  log: (line: string) => void;
}

/** How long a reconcile waits for a new watch's first list before it reports the member as not listed yet. */
const FIRST_LIST_MS = 5_000;

export class MemberWatches {
  private readonly o: MemberWatchOptions;
  private readonly watches = new Map<string, Map<string, MemberWatch>>();
  /** Called when a member's watches stop: the units that remember per-member state forget it. */
  private readonly stopped: ((cluster: string) => void)[] = [];

  constructor(o: MemberWatchOptions) {
    this.o = o;
  }

  onStop(listener: (cluster: string) => void): void {
    this.stopped.push(listener);
  }

  /** The members that have watches now. */
  clusters(): string[] {
    return [...this.watches.keys()];
  }

  /** The member's copy of an object as last seen, if it has one (and we have looked). */
  copy(cluster: string, kind: Kind, objKey: string): FederatedObject | undefined {
    return this.watches.get(cluster)?.get(kind.id)?.reflector.items.get(objKey) ?? this.o.pulledCopy(cluster, `${kind.id}/${objKey}`);
  }

  /** The member's watch once it has listed, or why not (yet). */
  async synced(cluster: string, kind: Kind): Promise<MemberWatch | NotListed> {
    const watch = await this.watch(cluster, kind);
    if (typeof watch !== 'string' && watch.blind) return watch;
    if (typeof watch === 'string') return { message: watch, waitsFor: 'retry' };
    if (!watch.reflector.synced || !watch.foreign.synced) {
      const waited = AbortSignal.timeout(FIRST_LIST_MS);
      await Promise.all([watch.reflector.waitForSync(waited), watch.foreign.waitForSync(waited)]);
      if (!watch.reflector.synced || !watch.foreign.synced) {
        // A custom kind whose CRD has not reached the member yet: it comes by itself, soon.
        if (kindNotServed(watch.reflector.lastError)) {
          return { message: `cluster ${cluster} does not serve ${kind.resource.plural}.${kind.resource.group} yet: its objects follow once its CustomResourceDefinition is there`, waitsFor: 'soon' };
        }
        const err = watch.reflector.lastError;
        if (err instanceof ApiError && err.status === 403) {
          return { message: `cluster ${cluster} forbids the federation to list ${kind.resource.plural}: join it again so that its role covers the propagated kinds (kubectl federation join ${cluster} --propagated-kinds=...)`, waitsFor: 'forbidden' };
        }
        return { message: `cannot list ${kind.resource.plural} in cluster ${cluster} yet`, waitsFor: 'retry' };
      }
    }
    return watch;
  }

  /**
   * Starts a member's watches of one kind afresh: its CRD was just established there, and a watch
   * that has been failing (404) would otherwise wait out its back-off before it lists.
   */
  restartKind(cluster: string, kindId: string): void {
    const watch = this.watches.get(cluster)?.get(kindId);
    if (!watch || watch.reflector.synced) return;
    watch.stop.abort();
    this.watches.get(cluster)?.delete(kindId);
  }

  stop(cluster: string): void {
    const known = this.watches.get(cluster);
    this.watches.delete(cluster);
    for (const w of known?.values() ?? []) w.stop.abort();
    if (known) this.o.log(`cluster ${cluster}: its ${known.size} watched kinds stopped (the member left or changed)`);
    for (const l of this.stopped) l(cluster);
  }

  stopAll(): void {
    for (const c of this.clusters()) this.stop(c);
  }

  private async watch(cluster: string, kind: Kind): Promise<MemberWatch | string> {
    const known = this.watches.get(cluster)?.get(kind.id);
    if (known) return known;
    const client = await this.o.members.syncClient(cluster);
    if ('kind' in client) return client.message;
    // A member that left while we asked for its client gets no watch (it would outlive the member).
    if (!this.o.members.cluster(cluster)) return `cluster ${cluster} is not joined`;
    const raced = this.watches.get(cluster)?.get(kind.id);
    if (raced) return raced;
    const stop = new AbortController();
    const enqueue = (obj: FederatedObject) => this.o.enqueue(`${kind.id}/${objectKey(obj.metadata)}`);
    const blind = isBlind(kind);
    const log = (line: string) => this.o.log(`cluster ${cluster}: ${line}`);
    const path = resourcePath(kind.resource);
    const reflector = new Reflector<FederatedObject>(client, path, (_t, obj) => enqueue(obj), {
      labelSelector: `${PROPAGATED_BY_LABEL}=${this.o.federationId}`,
      transform: (obj) => this.o.keep(kind, obj),
      log,
    });
    const foreign = new Reflector<FederatedObject>(client, path, (_t, obj) => enqueue(obj), {
      labelSelector: `${PROPAGATED_BY_LABEL}!=${this.o.federationId}`,
      metadataOnly: true,
      // A conflict check reads the name, and whose copy it is when another federation made it.
      transform: (obj) => {
        const labels = obj.metadata.labels ?? {};
        const owner = labels[PROPAGATED_BY_LABEL] ? { [PROPAGATED_BY_LABEL]: labels[PROPAGATED_BY_LABEL], ...(labels[FEDERATION_LABEL] ? { [FEDERATION_LABEL]: labels[FEDERATION_LABEL] } : {}) } : undefined;
        return { apiVersion: '', kind: '', metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, resourceVersion: obj.metadata.resourceVersion, ...(owner ? { labels: owner } : {}) } };
      },
      log,
    });
    const watch: MemberWatch = { reflector, foreign, stop, ...(blind ? { blind } : {}) };
    const forCluster = this.watches.get(cluster) ?? new Map<string, MemberWatch>();
    forCluster.set(kind.id, watch);
    this.watches.set(cluster, forCluster);
    if (!blind) {
      void reflector.run(stop.signal);
      void foreign.run(stop.signal);
    }
    return watch;
  }
}
