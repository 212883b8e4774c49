// The propagation controller: every object of a propagated kind created in the federation (with
// plain kubectl) gets a copy in each member its placement selects; the federation's object shows
// the members' statuses combined and holds a finalizer until every reachable copy is gone. One code
// path for every kind: kind-specific rules live in shared/propagation (copy.ts, status.ts).
// Keys are "Kind.group/namespace/name"; watches of the federation and of each member only enqueue.
import { createHash } from 'node:crypto';
import { FEDERATION_API_VERSION, FIELD_MANAGER, MANAGED_BY } from '../shared/constants.ts';
import { errorMessage, oneLine } from '../shared/errors.ts';
import { type ApiResource, apiVersionOf, discoverResources, resourcePath } from '../shared/kube/discovery.ts';
import { ApiError, ConnectionError, isNotFound, type RestClient } from '../shared/kube/rest.ts';
import { kubeTime } from '../shared/kube/time.ts';
import type { Propagation, PropagationClusterStatus } from '../shared/manifests/federation-api.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL, PROPAGATION_FINALIZER } from '../shared/propagation/annotations.ts';
import { type FederatedObject, hasReplicas, isSubset, memberCopy } from '../shared/propagation/copy.ts';
import { resolveKinds } from '../shared/propagation/kinds.ts';
import { divideReplicas, type MemberView, place } from '../shared/propagation/placement.ts';
import { aggregateStatus, canonical, type MemberCopy, observed, statusDiffers } from '../shared/propagation/status.ts';
import type { EventRecorder } from './events.ts';
import type { MemberChange, MemberRegistry } from './members.ts';
import { type ReconcileResult, type Reconciler, retryUntilAnswered } from './runtime/controller.ts';
import { type ChangeType, objectKey, Reflector } from './runtime/reflector.ts';

export interface PropagationOptions {
  federation: RestClient;
  members: MemberRegistry;
  events: EventRecorder;
  federationName: string;
  /** Short identity of the federation API server; labels every copy. */
  federationId: string;
  /** The kinds to propagate, as users write them (--propagated-kinds). */
  kinds: string[];
  /**
   * The host namespace of the members' credentials: never propagated, for the case of a federation
   * whose API server is also its host.
   */
  ownNamespace?: string;
  /** Every object is compared with its copies at least this often (drift put back). */
  resyncMs: number;
  /** A member that turned NotReady keeps its replicas this long before they move to the others. */
  graceMs: number;
  /** A deleted object waits this long for an unreachable member before its copy there is left. */
  deletionTimeoutMs: number;
  log: (line: string) => void;
}

interface Kind {
  id: string;
  resource: ApiResource;
  fed: Reflector<FederatedObject>;
}

interface MemberWatch {
  /** This federation's copies, whole. */
  reflector: Reflector<FederatedObject>;
  /** Every other object of the kind in the member, metadata only: what a new copy must not overwrite. */
  foreign: Reflector<FederatedObject>;
  stop: AbortController;
}

interface ClusterOutcome extends PropagationClusterStatus {
  copy?: FederatedObject;
  current: boolean;
  /**
   * What the error asks of us: 'retry' (back off and try again; the default), 'user' (a conflict:
   * reported, then looked at again every little while), 'member' (a member not Ready: nothing to
   * report; its return re-queues everything).
   */
  waitsFor?: 'retry' | 'user' | 'member';
}

const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);
/** Who adds and removes the finalizer and writes records: apart from the copies' field manager. */
const CONTROLLER_MANAGER_FIELD_MANAGER = `${FIELD_MANAGER}-controller-manager`;
const RECORDS_NAMESPACE = 'default';
const RECORD_INTERVAL_MS = 1000;

export const kindId = (r: Pick<ApiResource, 'kind' | 'group'>): string => (r.group ? `${r.kind}.${r.group}` : r.kind);

/** The record's name: "deployment.apps.web", "configmap.settings". */
export function recordName(r: Pick<ApiResource, 'kind' | 'group'>, name: string): string {
  const full = `${kindId(r).toLowerCase()}.${name}`;
  return full.length <= 253 ? full : `${full.slice(0, 240)}.${Buffer.from(full).toString('base64url').slice(-12).toLowerCase()}`;
}

/** A short digest of a value's canonical JSON: what was applied or written, remembered cheaply. */
const digestOf = (v: unknown): string => createHash('sha1').update(canonical(v)).digest('base64');

/** Objects that are the federation's own or the API server's, never propagated. */
export function excluded(kind: string, obj: FederatedObject, ownNamespace?: string): boolean {
  const { name, namespace, labels, ownerReferences } = obj.metadata as FederatedObject['metadata'] & { ownerReferences?: { controller?: boolean }[] };
  if (namespace && (SYSTEM_NAMESPACES.has(namespace) || namespace === ownNamespace)) return true;
  if (kind === 'Namespace' && (SYSTEM_NAMESPACES.has(name) || name === 'default' || name === ownNamespace)) return true;
  if (labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY) return true;
  if (labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults' || ((kind === 'ClusterRole' || kind === 'ClusterRoleBinding') && name.startsWith('system:'))) return true;
  if (kind === 'ServiceAccount' && name === 'default') return true;
  if (kind === 'ConfigMap' && name === 'kube-root-ca.crt') return true;
  if (kind === 'Secret' && (obj as { type?: string }).type === 'kubernetes.io/service-account-token') return true;
  if (kind === 'Service' && namespace === 'default' && name === 'kubernetes') return true;
  return (ownerReferences ?? []).some((o) => o.controller);
}

/** One line with the fix, for a failed write in a member. */
function describeMemberError(err: unknown, cluster: string, what: string, plural: string): string {
  if (err instanceof ConnectionError) return `cannot reach cluster ${cluster}: ${err.reason}`;
  if (err instanceof ApiError && err.status === 403 && /being terminated/.test(err.message)) {
    return `cluster ${cluster}: its namespace is being deleted there; ${what} is made again once it is gone`;
  }
  if (err instanceof ApiError && err.status === 403) {
    return `cluster ${cluster} forbids the federation to write ${plural}: join it again so that its role covers the propagated kinds (kubectl federation join ${cluster} --propagated-kinds=...)`;
  }
  if (err instanceof ApiError) return `cluster ${cluster} refused ${what}: ${oneLine(err.message)}`;
  return `cluster ${cluster}: ${errorMessage(err)}`;
}

export class PropagationController implements Reconciler {
  readonly name = 'propagation';
  /** Set by whoever runs this controller: puts a key on its queue. */
  enqueue: (key: string) => void = () => undefined;
  readonly kinds = new Map<string, Kind>();
  namespaces!: Reflector<FederatedObject>;
  private readonly o: PropagationOptions;
  private readonly memberWatches = new Map<string, Map<string, MemberWatch>>();
  /** What was last applied to each member (cluster|key): a copy that differs from it drifted. */
  private readonly lastApplied = new Map<string, string>();
  private readonly recordsWritten = new Map<string, string>();
  private readonly recordsWrittenAt = new Map<string, number>();
  /** Services whose node ports a user set (the federation's API server allocates the others). */
  private readonly userNodePorts = new Set<string>();
  private allResources: { at: number; list: ApiResource[] } = { at: 0, list: [] };

  constructor(o: PropagationOptions) {
    this.o = o;
  }

  /** Resolves the kinds through discovery and starts the federation's watches; runs until signal aborts. */
  async start(signal: AbortSignal): Promise<{ done: Promise<void> }> {
    const resources = await retryUntilAnswered('discovery of the federation API', () => discoverResources(this.o.federation), signal, this.o.log);
    if (!resources) return { done: Promise.resolve() };
    this.allResources = { at: Date.now(), list: resources };
    const { found, unknown } = resolveKinds(this.o.kinds, resources);
    for (const word of unknown) {
      this.o.log(`--propagated-kinds: the federation serves no kind "${word}" (write e.g. Deployment.apps, or the plural of a custom resource with its group: widgets.example.com); it is not propagated`);
    }
    const runs: Promise<void>[] = [];
    const namespaceResource = resources.find((r) => r.group === '' && r.kind === 'Namespace')!;
    for (const r of found) {
      if (!r.verbs.includes('watch') || !r.verbs.includes('list')) {
        this.o.log(`--propagated-kinds: ${kindId(r)} cannot be watched; it is not propagated`);
        continue;
      }
      const id = kindId(r);
      const reflector = new Reflector<FederatedObject>(this.o.federation, resourcePath(r), (t, obj, old) => this.fedChanged(id, t, obj, old), {
        log: this.o.log,
        transform: (obj) => this.keep(r, obj),
      });
      this.kinds.set(id, { id, resource: r, fed: reflector });
      if (r === namespaceResource) this.namespaces = reflector;
      runs.push(reflector.run(signal));
    }
    // Namespaces are watched even when not propagated: their selectors, and their finalization.
    if (!this.namespaces) {
      this.namespaces = new Reflector<FederatedObject>(this.o.federation, resourcePath(namespaceResource), (t, obj, old) => this.fedChanged('Namespace', t, obj, old), {
        log: this.o.log,
        transform: (obj) => this.keep(namespaceResource, obj),
      });
      runs.push(this.namespaces.run(signal));
    }
    this.o.log(`propagating ${[...this.kinds.keys()].join(', ')}`);
    return { done: Promise.all(runs).then(() => this.stopAllMemberWatches()) };
  }

  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all([...[...this.kinds.values()].map((k) => k.fed.waitForSync(signal)), this.namespaces.waitForSync(signal)]);
  }

  /** What the caches keep of an object: its kind (list items come without), less managedFields. */
  private keep(r: ApiResource, obj: FederatedObject): FederatedObject {
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    // Who set a Service's node ports tells user-chosen ones from those the federation allocated.
    if (r.kind === 'Service' && obj.metadata.uid && JSON.stringify(obj.metadata.managedFields ?? []).includes('"f:nodePort"')) {
      this.userNodePorts.add(obj.metadata.uid);
    }
    delete obj.metadata.managedFields;
    return obj;
  }

  private fedChanged(id: string, type: ChangeType, obj: FederatedObject, old: FederatedObject | undefined): void {
    const key = `${id}/${objectKey(obj.metadata)}`;
    this.enqueue(key);
    // A namespace goes wherever anything in it goes: its placement may change with this object's.
    const selector = (o: FederatedObject | undefined) => o?.metadata.annotations?.[ANNOTATIONS.clusterSelector];
    if (obj.metadata.namespace && (!old || type === 'DELETED' || selector(old) !== selector(obj))) this.enqueue(`Namespace/${obj.metadata.namespace}`);
    if (id === 'Namespace') {
      // A namespace's selector steers everything in it.
      const before = old?.metadata.annotations?.[ANNOTATIONS.clusterSelector];
      if (old && before !== obj.metadata.annotations?.[ANNOTATIONS.clusterSelector]) this.enqueueNamespace(obj.metadata.name);
    }
    if (obj.kind === 'HorizontalPodAutoscaler' || id.startsWith('HorizontalPodAutoscaler.')) {
      const target = (obj.spec as { scaleTargetRef?: { kind?: string; name?: string; apiVersion?: string } } | undefined)?.scaleTargetRef;
      for (const k of this.kinds.values()) {
        if (k.resource.kind === target?.kind && target.name) this.enqueue(`${k.id}/${obj.metadata.namespace}/${target.name}`);
      }
    }
  }

  private enqueueNamespace(namespace: string): void {
    for (const k of this.kinds.values()) {
      if (!k.resource.namespaced) continue;
      for (const obj of k.fed.items.values()) if (obj.metadata.namespace === namespace) this.enqueue(`${k.id}/${objectKey(obj.metadata)}`);
    }
  }

  /** Every object again: members came, went, or changed labels or readiness. */
  enqueueAll(): void {
    for (const k of this.kinds.values()) for (const obj of k.fed.items.values()) this.enqueue(`${k.id}/${objectKey(obj.metadata)}`);
  }

  memberChanged(name: string, change: MemberChange): void {
    if (change === 'removed' || change === 'changed') this.stopMemberWatches(name);
    this.enqueueAll();
  }

  private stopMemberWatches(cluster: string): void {
    for (const w of this.memberWatches.get(cluster)?.values() ?? []) w.stop.abort();
    this.memberWatches.delete(cluster);
    for (const k of [...this.lastApplied.keys()]) if (k.startsWith(`${cluster}|`)) this.lastApplied.delete(k);
  }

  private stopAllMemberWatches(): void {
    for (const c of [...this.memberWatches.keys()]) this.stopMemberWatches(c);
  }

  /** The member's copies of one kind (only this federation's, by label), watched from first use. */
  private async memberWatch(cluster: string, kind: Kind): Promise<MemberWatch | string> {
    const known = this.memberWatches.get(cluster)?.get(kind.id);
    if (known) return known;
    const client = await this.o.members.syncClient(cluster);
    if ('kind' in client) return client.message;
    const stop = new AbortController();
    const enqueue = (obj: FederatedObject) => this.enqueue(`${kind.id}/${objectKey(obj.metadata)}`);
    const log = (line: string) => this.o.log(`cluster ${cluster}: ${line}`);
    const reflector = new Reflector<FederatedObject>(client, resourcePath(kind.resource), (_t, obj) => enqueue(obj), {
      labelSelector: `${PROPAGATED_BY_LABEL}=${this.o.federationId}`,
      transform: (obj) => this.keep(kind.resource, obj),
      log,
    });
    const foreign = new Reflector<FederatedObject>(client, resourcePath(kind.resource), (_t, obj) => enqueue(obj), {
      labelSelector: `${PROPAGATED_BY_LABEL}!=${this.o.federationId}`,
      metadataOnly: true,
      // A name is all a conflict check reads (the selector already says whose it is not).
      transform: (obj) => ({ apiVersion: '', kind: '', metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, resourceVersion: obj.metadata.resourceVersion } }),
      log,
    });
    const watch = { reflector, foreign, stop };
    const forCluster = this.memberWatches.get(cluster) ?? new Map<string, MemberWatch>();
    forCluster.set(kind.id, watch);
    this.memberWatches.set(cluster, forCluster);
    void reflector.run(stop.signal);
    void foreign.run(stop.signal);
    return watch;
  }

  /** The member's watch once it has listed, or why not (yet). */
  private async syncedWatch(cluster: string, kind: Kind): Promise<MemberWatch | string> {
    const watch = await this.memberWatch(cluster, kind);
    if (typeof watch === 'string') return watch;
    if (!watch.reflector.synced || !watch.foreign.synced) {
      const waited = AbortSignal.timeout(5_000);
      await Promise.all([watch.reflector.waitForSync(waited), watch.foreign.waitForSync(waited)]);
      if (!watch.reflector.synced || !watch.foreign.synced) return `cannot list ${kind.resource.plural} in cluster ${cluster} yet`;
    }
    return watch;
  }

  private members(): MemberView[] {
    return this.o.members.names().map((name) => {
      const r = this.o.members.readiness(name);
      return { name, labels: this.o.members.cluster(name)?.metadata.labels ?? {}, ready: r.ready, since: r.since };
    });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const slash = key.indexOf('/');
    const id = key.slice(0, slash);
    const objKey = key.slice(slash + 1);
    const kind = this.kinds.get(id);
    if (id === 'Namespace') {
      const ns = this.namespaces.items.get(objKey);
      if (ns?.metadata.deletionTimestamp && !(await this.emptyNamespace(ns))) return { requeueAfterMs: 1000 };
    }
    if (!kind) return;
    const cached = kind.fed.items.get(objKey);
    if (!cached) {
      await this.deleteRecord(kind, objKey);
      return;
    }
    if (excluded(kind.resource.kind, cached, this.o.ownNamespace)) return;
    if (cached.metadata.deletionTimestamp) return this.deleteCopies(kind, cached);
    let fed = cached;
    if (!fed.metadata.finalizers?.includes(PROPAGATION_FINALIZER)) {
      // Held from now on until its copies are gone; carry on with what the server answered.
      const held = await this.setFinalizer(kind, fed, [...(fed.metadata.finalizers ?? []), PROPAGATION_FINALIZER]);
      if (!held) return;
      fed = this.keep(kind.resource, held);
    }

    const namespace = fed.metadata.namespace ? this.namespaces.items.get(fed.metadata.namespace) : undefined;
    let clusters: string[];
    let waiting: string[];
    let shares: Map<string, number> | undefined;
    try {
      ({ clusters, waiting } = this.placementOf(fed, namespace));
      if (fed.kind === 'Namespace') {
        // Wherever an object inside is placed, its namespace must be too.
        for (const c of this.clustersUsedInside(fed.metadata.name)) if (!clusters.includes(c)) clusters.push(c);
        clusters.sort();
      }
      if (hasReplicas(fed.kind)) {
        const total = (fed.spec?.replicas as number | undefined) ?? 1;
        shares = divideReplicas(total, clusters, fed.metadata.annotations ?? {});
      }
    } catch (err) {
      // Bad input: say so and change nothing anywhere until it is fixed.
      await this.o.events.record(fed, 'Warning', 'InvalidPlacement', `${errorMessage(err)}; nothing was changed in any member`);
      await this.writeRecord(kind, fed, [], `invalid placement: ${errorMessage(err)}`);
      return { requeueAfterMs: this.o.resyncMs };
    }

    const hpaOwned = this.scaledByHPA(fed);
    const outcomes = await Promise.all(
      clusters.map((c) => (waiting.includes(c) ? this.waitingOutcome(kind, fed, c, shares?.get(c)) : this.syncMember(kind, fed, c, hpaOwned ? undefined : shares?.get(c)))),
    );
    await this.removeUnselected(kind, fed, clusters);
    await this.writeStatus(kind, fed, outcomes);
    const recordDue = await this.writeRecord(kind, fed, outcomes);
    for (const f of outcomes) {
      if (f.error && f.waitsFor !== 'member') await this.o.events.record(fed, 'Warning', f.waitsFor === 'user' ? 'Conflict' : 'PropagationFailed', f.error);
    }
    const failed = outcomes.filter((o) => o.error && (o.waitsFor ?? 'retry') === 'retry');
    if (failed.length > 0) throw new Error(failed.map((f) => f.error).join('; '));
    const conflicts = outcomes.some((o) => o.waitsFor === 'user');
    return { requeueAfterMs: Math.min(conflicts ? 30_000 : this.o.resyncMs, recordDue ?? Infinity, this.o.resyncMs) };
  }

  private placementOf(fed: FederatedObject, namespace: FederatedObject | undefined) {
    return place({
      objectAnnotations: fed.metadata.annotations ?? {},
      namespaceAnnotations: namespace?.metadata.annotations ?? {},
      members: this.members(),
      now: Date.now(),
      graceMs: this.o.graceMs,
    });
  }

  /** The members that objects inside namespace are placed in (bad placements count for none). */
  private clustersUsedInside(namespace: string): Set<string> {
    const used = new Set<string>();
    const ns = this.namespaces.items.get(namespace);
    for (const k of this.kinds.values()) {
      if (!k.resource.namespaced) continue;
      for (const obj of k.fed.items.values()) {
        if (obj.metadata.namespace !== namespace || excluded(k.resource.kind, obj, this.o.ownNamespace)) continue;
        try {
          for (const c of this.placementOf(obj, ns).clusters) used.add(c);
        } catch {
          // Reported on the object itself.
        }
      }
    }
    return used;
  }

  /** A propagated HorizontalPodAutoscaler scales this workload: the members' HPAs own its replicas. */
  private scaledByHPA(fed: FederatedObject): boolean {
    if (!hasReplicas(fed.kind)) return false;
    for (const k of this.kinds.values()) {
      if (k.resource.kind !== 'HorizontalPodAutoscaler') continue;
      for (const hpa of k.fed.items.values()) {
        const ref = (hpa.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
        if (hpa.metadata.namespace === fed.metadata.namespace && ref?.kind === fed.kind && ref.name === fed.metadata.name) return true;
      }
    }
    return false;
  }

  private copyFor(fed: FederatedObject, replicas: number | undefined): FederatedObject {
    return memberCopy(fed, {
      federationName: this.o.federationName,
      federationId: this.o.federationId,
      replicas,
      userSetNodePorts: fed.metadata.uid !== undefined && this.userNodePorts.has(fed.metadata.uid),
    });
  }

  private async waitingOutcome(kind: Kind, fed: FederatedObject, cluster: string, replicas: number | undefined): Promise<ClusterOutcome> {
    const copy = this.memberWatches.get(cluster)?.get(kind.id)?.reflector.items.get(objectKey(fed.metadata));
    return {
      cluster,
      applied: false,
      healthy: false,
      current: false,
      waitsFor: 'member',
      ...(replicas !== undefined ? { replicas } : {}),
      ...(copy ? { copy } : {}),
      error: `cluster ${cluster} is not Ready: its share is kept for it until the grace period (--rebalance-grace-period) passes`,
    };
  }

  /** Makes the member's copy what the federation wants; never throws (the outcome says what failed). */
  private async syncMember(kind: Kind, fed: FederatedObject, cluster: string, replicas: number | undefined): Promise<ClusterOutcome> {
    const what = `${fed.kind} ${objectKey(fed.metadata)}`;
    const base = { cluster, ...(replicas !== undefined ? { replicas } : {}) };
    const watch = await this.syncedWatch(cluster, kind);
    if (typeof watch === 'string') return { ...base, applied: false, healthy: false, current: false, error: watch };
    const client = await this.o.members.syncClient(cluster);
    if ('kind' in client) return { ...base, applied: false, healthy: false, current: false, error: client.message };
    const desired = this.copyFor(fed, replicas);
    const objKey = objectKey(fed.metadata);
    const existing = watch.reflector.items.get(objKey);
    const appliedKey = `${cluster}|${kind.id}/${objKey}`;
    const want = digestOf(desired);
    if (existing && isSubset(desired, existing)) {
      this.lastApplied.set(appliedKey, want);
      return { ...base, ...this.health(existing, true), copy: existing, current: true };
    }
    const path = resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name);
    try {
      let adopted = false;
      if (!existing) {
        // Not this federation's copy. An object the federation did not create is never taken over
        // unasked: the member's other objects of the kind are watched too (metadata only).
        const found = watch.foreign.items.get(objKey);
        if (found) {
          if (fed.metadata.annotations?.[ANNOTATIONS.adopt] !== 'true') {
            return {
              ...base,
              applied: false,
              healthy: false,
              current: false,
              waitsFor: 'user',
              error: `${what} already exists in cluster ${cluster} and was not created by this federation: annotate the federation's object ${ANNOTATIONS.adopt}=true to take it over, or delete it in the member`,
            };
          }
          adopted = true;
        }
        if (!found && kind.resource.namespaced && fed.metadata.namespace) await this.ensureMemberNamespace(client, fed.metadata.namespace);
      }
      const drifted = existing !== undefined && this.lastApplied.get(appliedKey) === want;
      const applied = await client.request<FederatedObject>('PATCH', path, {
        body: desired,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: FIELD_MANAGER, force: true },
      });
      delete applied.metadata.managedFields;
      this.lastApplied.set(appliedKey, want);
      if (drifted) {
        await this.o.events.record(fed, 'Normal', 'DriftCorrected', `cluster ${cluster}: a change made in the member to ${what} was put back; change the federation's object instead`);
      }
      if (adopted) await this.o.events.record(fed, 'Normal', 'Adopted', `cluster ${cluster}: the existing ${what} is now managed by the federation`);
      return { ...base, ...this.health(applied, true), copy: applied, current: true };
    } catch (err) {
      // The namespace went away in the member since we looked: look again next time.
      if (isNotFound(err) && fed.metadata.namespace) this.memberNamespaces.delete(`${client.server}|${fed.metadata.namespace}`);
      return { ...base, applied: false, healthy: false, current: false, ...(existing ? { copy: existing } : {}), error: describeMemberError(err, cluster, what, kind.resource.plural) };
    }
  }

  /** Member namespaces known to exist ("server|namespace"): one look per namespace, not per object. */
  private readonly memberNamespaces = new Set<string>();

  /** Namespaces a namespaced object needs are created first (labelled as this federation's). */
  private async ensureMemberNamespace(client: RestClient, namespace: string): Promise<void> {
    const known = `${client.server}|${namespace}`;
    if (this.memberNamespaces.has(known)) return;
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
    if (await client.find(path)) {
      this.memberNamespaces.add(known);
      return;
    }
    const fedNs = this.namespaces.items.get(namespace) ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } };
    await client.request('PATCH', path, {
      body: this.copyFor(fedNs, undefined),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true },
    });
    this.memberNamespaces.add(known);
  }

  /** Applied and healthy, as the record shows them: workloads are healthy once available. */
  private health(copy: FederatedObject, applied: boolean): Pick<ClusterOutcome, 'applied' | 'healthy' | 'generation' | 'observedGeneration'> {
    const status = copy.status as { observedGeneration?: number; conditions?: { type: string; status: string }[]; readyReplicas?: number; numberUnavailable?: number } | undefined;
    const generation = copy.metadata.generation;
    const observedGeneration = status?.observedGeneration;
    let healthy = applied;
    if (copy.kind === 'Deployment' || copy.kind === 'StatefulSet' || copy.kind === 'ReplicaSet') {
      const want = (copy.spec?.replicas as number | undefined) ?? 1;
      healthy = observed({ cluster: '', object: copy, current: true }) && (status?.readyReplicas ?? 0) >= want;
    } else if (copy.kind === 'DaemonSet') {
      healthy = observed({ cluster: '', object: copy, current: true }) && (status?.numberUnavailable ?? 0) === 0;
    } else if (copy.kind === 'Job') {
      healthy = !status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True');
    }
    return {
      applied,
      healthy,
      ...(generation !== undefined ? { generation } : {}),
      ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    };
  }

  /** Copies in Ready members the placement no longer selects are removed (never in members not Ready). */
  private async removeUnselected(kind: Kind, fed: FederatedObject, selected: string[]): Promise<void> {
    for (const [cluster, watches] of this.memberWatches) {
      if (selected.includes(cluster) || !this.o.members.readiness(cluster).ready) continue;
      const copy = watches.get(kind.id)?.reflector.items.get(objectKey(fed.metadata));
      if (!copy) continue;
      const client = await this.o.members.syncClient(cluster);
      if ('kind' in client) continue;
      try {
        await client.request('DELETE', resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name), {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        });
        this.o.log(`${fed.kind} ${objectKey(fed.metadata)}: removed from cluster ${cluster}, which its placement no longer selects`);
      } catch (err) {
        if (!isNotFound(err)) this.o.log(describeMemberError(err, cluster, `deleting ${fed.kind} ${objectKey(fed.metadata)}`, kind.resource.plural));
      }
    }
  }

  private async writeStatus(kind: Kind, fed: FederatedObject, outcomes: ClusterOutcome[]): Promise<void> {
    if (!kind.resource.status) return;
    const copies: MemberCopy[] = outcomes.map((o) => ({ cluster: o.cluster, current: o.current, ...(o.copy ? { object: o.copy } : {}) }));
    const prev = fed.status;
    const status = aggregateStatus(fed.kind, fed.metadata.generation ?? 0, copies, prev, kubeTime());
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
   * Writes the object's Propagation record when it changed, at most once a second per object (a
   * rollout changes it with every member's status update; the record is a report, the object's own
   * status is what waits follow). Returns when to come back for a write held back.
   */
  private async writeRecord(kind: Kind, fed: FederatedObject, outcomes: ClusterOutcome[], error?: string): Promise<number | undefined> {
    const clusters: PropagationClusterStatus[] = outcomes.map((o) => ({
      cluster: o.cluster,
      applied: o.applied,
      healthy: o.healthy,
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      ...(o.generation !== undefined ? { generation: o.generation } : {}),
      ...(o.observedGeneration !== undefined ? { observedGeneration: o.observedGeneration } : {}),
      ...(o.error ? { error: o.error } : {}),
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
        ...(error ? { message: error } : {}),
      },
    };
    const key = `${record.metadata.namespace}/${record.metadata.name}`;
    const text = digestOf(record);
    if (this.recordsWritten.get(key) === text) return undefined;
    // Held back only while the copies are still changing: a settled record (every member applied and
    // healthy) is written at once, so it is current when a rollout is.
    const settled = clusters.length > 0 && clusters.every((c) => c.applied && c.healthy);
    const since = Date.now() - (this.recordsWrittenAt.get(key) ?? 0);
    if (!settled && since < RECORD_INTERVAL_MS) return RECORD_INTERVAL_MS - since;
    try {
      await this.o.federation.request('PATCH', `/apis/${FEDERATION_API_VERSION}/namespaces/${encodeURIComponent(record.metadata.namespace)}/propagations/${encodeURIComponent(record.metadata.name)}`, {
        body: record,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: CONTROLLER_MANAGER_FIELD_MANAGER, force: true },
      });
      this.recordsWritten.set(key, text);
      this.recordsWrittenAt.set(key, Date.now());
    } catch (err) {
      // A terminating namespace refuses new records; the record is a report, never worth a retry.
      this.o.log(`${fed.kind} ${objectKey(fed.metadata)}: writing its Propagation record failed: ${errorMessage(err)}`);
    }
    return undefined;
  }

  private async deleteRecord(kind: Kind, objKey: string): Promise<void> {
    const slash = objKey.indexOf('/');
    const namespace = kind.resource.namespaced ? objKey.slice(0, slash) : RECORDS_NAMESPACE;
    const name = kind.resource.namespaced ? objKey.slice(slash + 1) : objKey;
    const key = `${namespace}/${recordName(kind.resource, name)}`;
    this.recordsWritten.delete(key);
    this.recordsWrittenAt.delete(key);
    for (const c of this.memberWatches.keys()) this.lastApplied.delete(`${c}|${kind.id}/${objKey}`);
    try {
      await this.o.federation.request('DELETE', `/apis/${FEDERATION_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/propagations/${encodeURIComponent(recordName(kind.resource, name))}`);
    } catch (err) {
      if (!isNotFound(err)) this.o.log(`deleting the Propagation record ${key} failed: ${errorMessage(err)}`);
    }
  }

  /** The object as the server answered, or undefined when it is gone. */
  private async setFinalizer(kind: Kind, fed: FederatedObject, finalizers: string[]): Promise<FederatedObject | undefined> {
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
  private async deleteCopies(kind: Kind, fed: FederatedObject): Promise<ReconcileResult | void> {
    if (!fed.metadata.finalizers?.includes(PROPAGATION_FINALIZER)) return;
    const what = `${fed.kind} ${objectKey(fed.metadata)}`;
    const drop = () => this.setFinalizer(kind, fed, (fed.metadata.finalizers ?? []).filter((f) => f !== PROPAGATION_FINALIZER));
    if (fed.metadata.annotations?.[ANNOTATIONS.orphan] === 'true') {
      await this.o.events.record(fed, 'Normal', 'Orphaned', `${what} was deleted from the federation; its copies stay in the members (${ANNOTATIONS.orphan}=true)`);
      await drop();
      return;
    }
    const pending: string[] = [];
    const unreachable: string[] = [];
    for (const cluster of this.o.members.names()) {
      const watch = await this.syncedWatch(cluster, kind);
      if (typeof watch === 'string') {
        unreachable.push(cluster);
        continue;
      }
      const copy = watch.reflector.items.get(objectKey(fed.metadata));
      if (!copy) continue;
      pending.push(cluster);
      if (copy.metadata.deletionTimestamp) continue;
      const client = await this.o.members.syncClient(cluster);
      if ('kind' in client) continue;
      try {
        await client.request('DELETE', resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name), {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        });
      } catch (err) {
        if (isNotFound(err)) continue;
        if (err instanceof ConnectionError) unreachable.push(cluster);
        else this.o.log(describeMemberError(err, cluster, `deleting ${what}`, kind.resource.plural));
      }
    }
    if (pending.length > 0 && pending.some((c) => !unreachable.includes(c))) return { requeueAfterMs: 1000 };
    const since = Date.parse(fed.metadata.deletionTimestamp ?? '') || Date.now();
    if (unreachable.length > 0 && Date.now() - since < this.o.deletionTimeoutMs) {
      await this.o.events.record(fed, 'Warning', 'WaitingForMembers', `cannot reach ${unreachable.join(', ')} to delete the copies of ${what}; waiting up to ${Math.round(this.o.deletionTimeoutMs / 1000)}s (--deletion-timeout) before leaving them`);
      return { requeueAfterMs: 5000 };
    }
    if (unreachable.length > 0) {
      await this.o.events.record(fed, 'Warning', 'CopiesLeft', `the copies of ${what} in ${unreachable.join(', ')} could not be deleted (unreachable); delete them there by label ${PROPAGATED_BY_LABEL}=${this.o.federationId}`);
    }
    await drop();
  }

  /** Namespaced resources the federation serves (preferred versions), refreshed each minute. */
  private async namespacedResources(): Promise<ApiResource[]> {
    if (Date.now() - this.allResources.at > 60_000) this.allResources = { at: Date.now(), list: await discoverResources(this.o.federation) };
    return this.allResources.list.filter((r) => r.namespaced && r.preferred && r.verbs.includes('list') && r.verbs.includes('deletecollection'));
  }

  /**
   * What Kubernetes' namespace controller does (the federation runs none): delete everything in a
   * terminating namespace; true once it is empty.
   */
  private async emptyNamespace(ns: FederatedObject): Promise<boolean> {
    const name = ns.metadata.name;
    let empty = true;
    for (const r of await this.namespacedResources()) {
      const path = resourcePath(r, name);
      const list = await this.o.federation.get<{ items: unknown[] }>(path, { query: { limit: 1 } });
      if (list.items.length === 0) continue;
      empty = false;
      await this.o.federation.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
    }
    if (empty) await this.finalizeNamespace(ns);
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
