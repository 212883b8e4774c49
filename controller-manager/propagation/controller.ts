// The propagation controller: every object of a propagated kind created in the federation (with
// plain kubectl) gets a copy in each member its placement selects; the federation's object shows the
// members' statuses combined, and holds a finalizer until every reachable copy is gone. One code path
// for every kind: kind rules live in shared/propagation. Keys are "Kind.group/namespace/name".
//
// reconcile reads top to bottom: never propagated -> deletion -> finalizer -> placement -> revisions
// -> dispatch -> status. Each concern is a unit of its own with its own state: the federation's
// watches (federation-objects.ts), the members' (member-watches.ts), the revision history and stages
// (rollouts.ts), the writes to members (dispatch.ts), what users read (records.ts), and deletion with
// the namespace finalizer (deletion.ts).
import { errorMessage } from '../../shared/errors.ts';
import type { RestClient } from '../../shared/kube/rest.ts';
import { PROPAGATION_FINALIZER } from '../../shared/propagation/annotations.ts';
import { type FederatedObject, hasReplicas } from '../../shared/propagation/copy.ts';
import { divideReplicas, explainNoCluster, type MemberView, place, type Placement } from '../../shared/propagation/placement.ts';
import { exclusion } from '../../shared/propagation/rules.ts';
import type { EventRecorder } from '../events.ts';
import type { MemberChange, MemberRegistry } from '../members.ts';
import type { Enqueue, ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { Deletion } from './deletion.ts';
import { Dispatcher } from './dispatch.ts';
import { PulledCopies } from './pulled-copies.ts';
import { FederationObjects } from './federation-objects.ts';
import { follows } from '../../shared/propagation/dependencies.ts';
import { MemberWatches } from './member-watches.ts';
import { Overrides } from './overrides.ts';
import { Records } from './records.ts';
import { type RolloutPlan, rolloutRecord, Rollouts } from './rollouts.ts';
import { type ClusterOutcome, heldOutcome, type Kind, kindId, splitKey } from './types.ts';
import { hasRevisions, REVISION_ANNOTATION } from '../../shared/propagation/revisions.ts';
import { stageCondition } from '../../shared/propagation/stages.ts';
import { objectKey } from '../runtime/reflector.ts';
import { Warnings } from './warnings.ts';

export interface PropagationOptions {
  federation: RestClient;
  members: MemberRegistry;
  events: EventRecorder;
  federationName: string;
  /** Short identity of the federation API server; labels every copy. */
  federationId: string;
  /** The kinds to propagate, as users write them (--propagated-kinds). */
  kinds: string[];
  /** The host namespace of the members' credentials: never propagated. */
  ownNamespace?: string;
  /** Every object is compared with its copies at least this often (drift put back). */
  resyncMs: number;
  /** A member that turned NotReady keeps its replicas this long before they move to the others. */
  graceMs: number;
  /** A deleted object waits this long for an unreachable member before its copy there is left. */
  deletionTimeoutMs: number;
  /** The Pod Security level member namespaces enforce when the federation's names none. */
  memberPodSecurity?: string;
  log: (line: string) => void;
}

/** Something in a member that comes by itself (a namespace still terminating, a CRD arriving). */
const SOON_MS = 2000;
/** A conflict waits for the user; looked at again this often. */
const CONFLICT_MS = 30_000;

export class PropagationController implements Reconciler {
  readonly name = 'propagation';
  private readonly o: PropagationOptions;
  private readonly objects: FederationObjects;
  private readonly watches: MemberWatches;
  private readonly dispatch: Dispatcher;
  private readonly pulled: PulledCopies;
  private readonly overrides: Overrides;
  private readonly records: Records;
  private readonly deletion: Deletion;
  private readonly warnings: Warnings;
  private readonly rollouts: Rollouts;
  /** "cluster|crd" of CRDs seen established in a member. */
  private readonly established = new Set<string>();

  constructor(o: PropagationOptions, enqueue: Enqueue) {
    this.o = o;
    const { federation, members, events, federationId, log } = o;
    this.objects = new FederationObjects({ federation, kinds: o.kinds, enqueue, log });
    this.pulled = new PulledCopies({ federation, members, events, enqueue, log });
    this.watches = new MemberWatches({ members, federationId, enqueue, log, keep: (kind, obj) => this.objects.keep(kind.resource, obj), pulledCopy: (c, key) => this.pulled.copy(c, key) });
    this.overrides = new Overrides({ federation, objects: this.objects, enqueue, log });
    this.dispatch = new Dispatcher({ members, watches: this.watches, objects: this.objects, overrides: this.overrides, pulled: this.pulled, events, federationName: o.federationName, federationId, ...(o.memberPodSecurity ? { podSecurity: o.memberPodSecurity } : {}), log });
    this.records = new Records({ federation, log });
    this.deletion = new Deletion({ federation, members, watches: this.watches, pulled: this.pulled, objects: this.objects, events, federationId, deletionTimeoutMs: o.deletionTimeoutMs, log });
    this.warnings = new Warnings({ events, objects: this.objects });
    this.rollouts = new Rollouts({ federation, members, watches: this.watches, objects: this.objects, events, enqueue, log });
    members.on((name, change) => this.memberChanged(name, change));
  }

  /** Starts the federation's watches; runs until signal aborts. */
  async start(signal: AbortSignal): Promise<{ done: Promise<void> }> {
    const started = await this.objects.start(signal);
    if (!started) return { done: Promise.resolve() };
    const overrides = this.overrides.run(signal);
    const history = this.rollouts.run(signal);
    const reports = this.pulled.run(signal);
    return { done: Promise.all([started.done, overrides, history, reports]).then(() => this.watches.stopAll()) };
  }

  /**
   * Overrides are not waited for: each one's first listing enqueues the objects it selects. The
   * revision history is: a revision must not be numbered again. History whose workload was deleted
   * while no controller manager ran goes then.
   */
  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all([this.objects.waitForSync(signal), this.rollouts.waitForSync(signal), this.pulled.waitForSync(signal)]);
    const alive = new Set<string>();
    for (const k of this.objects.kinds.values()) if (hasRevisions(k.resource.kind)) for (const o of k.fed.items.values()) if (o.metadata.uid) alive.add(o.metadata.uid);
    void this.rollouts.sweep((uid) => alive.has(uid));
  }

  /** Members came, went, or changed labels or readiness: every object is looked at again. */
  private memberChanged(name: string, change: MemberChange): void {
    if (change === 'removed' || change === 'changed') this.watches.stop(name);
    this.objects.enqueueAll();
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { id, objKey } = splitKey(key);
    const kind = this.objects.kinds.get(id);
    // The federation runs no namespace controller: a terminating namespace is ours to finish.
    const ns = id === 'Namespace' ? this.objects.namespaces.items.get(objKey) : undefined;
    if (ns?.metadata.deletionTimestamp) return this.deletion.deleteNamespace(kind, ns);
    if (!kind) return;
    const cached = kind.fed.items.get(objKey);
    if (!cached) {
      this.dispatch.forget(kind, objKey);
      this.warnings.forget(key);
      await this.rollouts.forget(kind, objKey);
      await this.records.deleteRecord(kind, objKey);
      return;
    }
    const excluded = exclusion(kind.resource.kind, cached, this.o.ownNamespace);
    if (excluded) {
      if (excluded.tell && !cached.metadata.deletionTimestamp && !this.objects.madeByServer(cached)) await this.warnings.notPropagated(kind, cached, excluded.reason, this.records);
      return;
    }
    if (cached.metadata.deletionTimestamp) return this.deletion.deleteCopies(kind, cached);
    const fed = await this.hold(kind, cached);
    if (!fed) return;

    let placement: Placement;
    let shares: Map<string, number> | undefined;
    let plan: RolloutPlan | undefined;
    try {
      placement = this.placementOf(fed);
      if (hasReplicas(fed.kind)) shares = divideReplicas((fed.spec?.replicas as number | undefined) ?? 1, placement.clusters, fed.metadata.annotations ?? {});
      // Which revision each member gets: the history made current, and the stages of a staged rollout
      // (a stage waits for its members that are not Ready, too: a canary that is down proves nothing).
      plan = await this.rollouts.plan(kind, fed, placement.clusters);
    } catch (err) {
      // Bad input: say so and change nothing anywhere until it is fixed.
      await this.o.events.record(fed, 'Warning', 'InvalidPlacement', `${errorMessage(err)}; nothing was changed in any member`);
      await this.records.writeRecord(kind, fed, [], `invalid placement: ${errorMessage(err)}`);
      return { requeueAfterMs: this.o.resyncMs };
    }

    const { clusters, waiting } = placement;
    // A propagated HPA owns the workload's replicas in the members: asked once, not per member.
    const scaled = this.objects.scaledByAutoscaler(fed);
    const share = (c: string) => (scaled ? undefined : shares?.get(c));
    const outcomes = await Promise.all(
      clusters.map((c) => {
        const until = waiting.get(c);
        if (until !== undefined) return Promise.resolve(this.dispatch.waiting(kind, fed, c, shares?.get(c), until));
        const revision = plan?.of(c) ?? { send: 'target' };
        if (revision.send === 'hold') return Promise.resolve(heldOutcome(c, revision.why, share(c), this.watches.copy(c, kind, objectKey(fed.metadata))));
        return this.dispatch.sync(kind, fed, c, share(c), revision.send === 'older' ? revision.template : undefined);
      }),
    );
    await this.dispatch.removeUnselected(kind, fed, clusters);

    const nothing = clusters.length === 0 ? explainNoCluster(this.placementInput(fed)) : undefined;
    // What users read, written at once: independent writes, and an event for this object meanwhile
    // waits for them (a staged rollout's next stage among those events).
    const [historyDue, , recordDue] = await Promise.all([
      plan && this.rollouts.writeHistoryStatus(fed, outcomes.map((o) => o.copy)),
      this.records.writeStatus(kind, fed, outcomes, nothing, plan && { target: plan.target, ...(plan.state && plan.state.phase !== 'Complete' ? { stage: stageCondition(plan.state, fed) } : {}) }),
      this.records.writeRecord(kind, fed, this.withRevisions(outcomes, plan), nothing, placement.placedBy, plan && rolloutRecord(plan)),
      plan && this.rollouts.announce(kind, fed, plan),
      this.warnings.report(key, fed, outcomes, nothing, this.o.members.names().length > 0),
    ]);
    if (fed.kind === 'CustomResourceDefinition') {
      await this.warnings.kindNotListed(fed);
      this.followCRD(fed, outcomes);
    }
    return this.next(outcomes, waiting, recordDue, Math.min(plan?.state?.nextMs ?? Infinity, historyDue ?? Infinity));
  }

  /** Per member, the revision (as the history numbers it) its copy runs and its stage. */
  private withRevisions(outcomes: ClusterOutcome[], plan: RolloutPlan | undefined): ClusterOutcome[] {
    if (!plan) return outcomes;
    return outcomes.map((o) => {
      const revision = plan.number(o.copy?.metadata.annotations?.[REVISION_ANNOTATION]);
      const stage = plan.stageOf(o.cluster);
      return { ...o, ...(revision !== undefined ? { revision } : {}), ...(stage !== undefined ? { stage: stage + 1 } : {}) };
    });
  }

  /**
   * A propagated CRD newly established in a member: the objects of its kind follow now, not after the
   * back-off of a watch that found the kind missing there.
   */
  private followCRD(crd: FederatedObject, outcomes: ClusterOutcome[]): void {
    const spec = crd.spec as { group?: string; names?: { kind?: string } } | undefined;
    const id = spec?.group && spec.names?.kind ? `${spec.names.kind}.${spec.group}` : undefined;
    if (!id || !this.objects.kinds.has(id)) return;
    for (const o of outcomes) {
      const conditions = (o.copy?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions;
      const seen = `${o.cluster}|${crd.metadata.name}`;
      if (!conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
        this.established.delete(seen);
        continue;
      }
      if (this.established.has(seen)) continue;
      this.established.add(seen);
      this.watches.restartKind(o.cluster, id);
      this.objects.enqueueKind((r) => kindId(r) === id);
    }
  }

  /** Our finalizer is on the object from its first reconcile on; the object as the server answered. */
  private async hold(kind: Kind, fed: FederatedObject): Promise<FederatedObject | undefined> {
    if (fed.metadata.finalizers?.includes(PROPAGATION_FINALIZER)) return fed;
    const held = await this.deletion.setFinalizer(kind, fed, [...(fed.metadata.finalizers ?? []), PROPAGATION_FINALIZER]);
    return held ? this.objects.keep(kind.resource, held) : undefined;
  }

  private members(): MemberView[] {
    return this.o.members.names().map((name) => {
      const r = this.o.members.readiness(name);
      return { name, labels: this.o.members.cluster(name)?.metadata.labels ?? {}, ready: r.ready, since: r.since };
    });
  }

  private placementInput(fed: FederatedObject) {
    const namespace = fed.metadata.namespace ? this.objects.namespaces.items.get(fed.metadata.namespace) : undefined;
    return {
      objectAnnotations: fed.metadata.annotations ?? {},
      namespaceAnnotations: namespace?.metadata.annotations ?? {},
      members: this.members(),
      now: Date.now(),
      graceMs: this.o.graceMs,
    };
  }

  /**
   * Where the object goes; a namespace also goes wherever anything inside it goes, and a dependency
   * with no placement of its own wherever the workloads that use it go. Throws on bad annotations.
   */
  private placementOf(fed: FederatedObject): Placement {
    const placement = place(this.placementInput(fed));
    if (follows(fed) && fed.metadata.namespace) return this.followUsers(fed, placement);
    if (fed.kind !== 'Namespace') return placement;
    for (const { kind, obj } of this.objects.inside(fed.metadata.name)) {
      if (exclusion(kind.resource.kind, obj, this.o.ownNamespace)) continue;
      try {
        const inner = place(this.placementInput(obj));
        for (const c of inner.clusters) if (!placement.clusters.includes(c)) placement.clusters.push(c);
        for (const [c, until] of inner.waiting) if (!placement.waiting.has(c)) placement.waiting.set(c, until);
      } catch {
        // A bad placement counts for none; it is reported on the object itself.
      }
    }
    placement.clusters.sort();
    return placement;
  }

  /** A dependency goes where the workloads that use it go (the union); used by none, where it would anyway. */
  private followUsers(dep: FederatedObject, own: Placement): Placement {
    const users: string[] = [];
    const union: Placement = { clusters: [], waiting: new Map() };
    for (const { kind, obj } of this.objects.usersOf(dep)) {
      if (obj.metadata.deletionTimestamp || exclusion(kind.resource.kind, obj, this.o.ownNamespace)) continue;
      try {
        const p = place(this.placementInput(obj));
        users.push(`${obj.kind}/${obj.metadata.name}`);
        for (const c of p.clusters) if (!union.clusters.includes(c)) union.clusters.push(c);
        for (const [c, until] of p.waiting) if (!union.waiting.has(c)) union.waiting.set(c, until);
      } catch {
        // A workload with a bad placement places nothing; it is reported on itself.
      }
    }
    if (users.length === 0) return own;
    union.clusters.sort();
    return { ...union, placedBy: users.sort() };
  }

  /** When to look again: at once on failure (with back-off), soon, at a grace period's end, or at the resync. */
  private next(outcomes: ClusterOutcome[], waiting: Map<string, number>, recordDue: number | undefined, rolloutDue: number): ReconcileResult {
    const failed = outcomes.filter((o) => o.error && (o.waitsFor ?? 'retry') === 'retry');
    if (failed.length > 0) throw new Error(failed.map((f) => f.error).join('; '));
    // A soak or a stage's deadline ends when it ends, not at the next resync; a report held back is written then.
    const due = [this.o.resyncMs, recordDue ?? Infinity, rolloutDue];
    if (outcomes.some((o) => o.waitsFor === 'soon')) due.push(SOON_MS);
    if (outcomes.some((o) => o.waitsFor === 'user')) due.push(CONFLICT_MS);
    // The share of a member not Ready moves the moment its grace period ends, not at the next resync.
    for (const until of waiting.values()) due.push(Math.max(until - Date.now(), 0) + 50);
    return { requeueAfterMs: Math.min(...due) };
  }
}
