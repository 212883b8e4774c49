// Rollouts: the revision history of every federated Deployment, StatefulSet and DaemonSet, kept in the
// federation the way kubectl and helm read it (ReplicaSets and ControllerRevisions the workload
// controls), and the stages of a staged rollout: which revision each member gets now. A member whose
// stage the new revision has not reached gets the revision it runs, from the history, so scaling and
// everything but the pod template still reach it. What each member runs is read from its copy, so
// the rollout resumes where the members are after a restart.
import { errorMessage } from '../../shared/errors.ts';
import { isNotFound, type RestClient } from '../../shared/kube/rest.ts';
import type { RolloutRecord } from '../../shared/manifests/federation-api.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { type HistoryEntry, hasRevisions, HISTORY_LABEL, ownerUid, planHistory, readHistory, replicaSetStatus, REVISION_ANNOTATION, type Template, templateHash, templateOf } from '../../shared/propagation/revisions.ts';
import { advance, type MemberRollout, rolledOut, rolloutFailed, type RolloutState, type Stage, stageDeadlineMs, stageOf, stagesOf, type Timeline } from '../../shared/propagation/stages.ts';
import type { EventRecorder } from '../events.ts';
import type { MemberRegistry } from '../members.ts';
import type { Enqueue } from '../runtime/controller.ts';
import { objectKey, Reflector } from '../runtime/reflector.ts';
import type { FederationObjects } from './federation-objects.ts';
import type { MemberWatches } from './member-watches.ts';
import { CONTROLLER_MANAGER_FIELD_MANAGER, type Kind } from './types.ts';

export interface RolloutsOptions {
  federation: RestClient;
  members: MemberRegistry;
  watches: MemberWatches;
  objects: FederationObjects;
  events: EventRecorder;
  enqueue: Enqueue;
  log: (line: string) => void;
}

/** What a member gets of a workload now. */
export type MemberRevision =
  /** The federation's template (the target revision). */
  | { send: 'target' }
  /** An older revision's template: its stage has not been reached. */
  | { send: 'older'; template: Template; hash: string }
  /** Nothing: no copy there yet and its stage not reached, or its revision no longer known. */
  | { send: 'hold'; why: string };

export interface RolloutPlan {
  /** The federation's template's revision (hash) and its number in the history. */
  target: string;
  revision: number;
  stages?: Stage[];
  state?: RolloutState;
  of(cluster: string): MemberRevision;
  stageOf(cluster: string): number | undefined;
  /** The revision number a hash has in the history. */
  number(hash: string | undefined): number | undefined;
}

/** A ReplicaSet's status while its pods are still coming: written at most this often. */
const HISTORY_STATUS_INTERVAL_MS = 1000;

const HISTORY_KINDS = [
  { kind: 'ReplicaSet', path: '/apis/apps/v1/replicasets' },
  { kind: 'ControllerRevision', path: '/apis/apps/v1/controllerrevisions' },
];

export class Rollouts {
  private readonly o: RolloutsOptions;
  private readonly reflectors: Reflector<FederatedObject>[];
  /** History entries by the workload UID that controls them, then by hash. */
  private readonly byOwner = new Map<string, Map<string, HistoryEntry>>();
  private readonly timelines = new Map<string, Timeline>();
  /** When a revision was first sent to a member ("key|cluster|hash"): a failure from before is not its. */
  private readonly sentAt = new Map<string, number>();
  /** When each ReplicaSet's status was last written (by its path). */
  private readonly statusAt = new Map<string, number>();
  /** The last stage announced per object key: one Event per stage and per halt. */
  private readonly announced = new Map<string, { target: string; open: number; halted: boolean }>();

  constructor(o: RolloutsOptions) {
    this.o = o;
    this.reflectors = HISTORY_KINDS.map(({ kind, path }) =>
      new Reflector<FederatedObject>(o.federation, path, (type, obj, old) => this.changed(type === 'DELETED', obj, old), {
        labelSelector: HISTORY_LABEL,
        log: o.log,
        transform: (obj) => {
          obj.apiVersion = 'apps/v1';
          obj.kind = kind;
          delete obj.metadata.managedFields;
          return obj;
        },
      }),
    );
  }

  run(signal: AbortSignal): Promise<unknown> {
    return Promise.all(this.reflectors.map((r) => r.run(signal)));
  }

  /** The history is known before the first plan: else a restart would number a revision again. */
  waitForSync(signal: AbortSignal): Promise<unknown> {
    return Promise.all(this.reflectors.map((r) => r.waitForSync(signal)));
  }

  private changed(deleted: boolean, obj: FederatedObject, old: FederatedObject | undefined): void {
    for (const [o, remove] of [[old, true], [obj, deleted]] as const) {
      const uid = o && ownerUid(o);
      const entry = o && readHistory(o);
      if (!uid || !entry) continue;
      const entries = this.byOwner.get(uid) ?? new Map<string, HistoryEntry>();
      if (remove) {
        if (entries.get(entry.hash)?.object.metadata.name === o.metadata.name) entries.delete(entry.hash);
      } else entries.set(entry.hash, entry);
      if (entries.size === 0) this.byOwner.delete(uid);
      else this.byOwner.set(uid, entries);
    }
  }

  /**
   * The history brought up to the workload's template (its revision made, an undo renumbered, the
   * oldest pruned), and what each member gets now. Throws on a bad stages annotation.
   */
  async plan(kind: Kind, fed: FederatedObject, clusters: string[]): Promise<RolloutPlan | undefined> {
    if (!hasRevisions(fed.kind) || !fed.metadata.uid) return undefined;
    const objKey = objectKey(fed.metadata);
    const ns = fed.metadata.namespace ? this.o.objects.namespaces.items.get(fed.metadata.namespace) : undefined;
    const nsAnnotations = ns?.metadata.annotations ?? {};
    const stages = stagesOf(fed, nsAnnotations);
    const target = templateHash(templateOf(fed));
    const copies = new Map(clusters.map((c) => [c, this.o.watches.copy(c, kind, objKey)] as const));
    const running = (c: string) => copies.get(c)?.metadata.annotations?.[REVISION_ANNOTATION];
    // Every member's revision, placed or not: a copy being removed still runs one.
    const inUse = new Set<string>();
    for (const c of this.o.watches.clusters()) {
      const r = this.o.watches.copy(c, kind, objKey)?.metadata.annotations?.[REVISION_ANNOTATION];
      if (r) inUse.add(r);
    }
    const entries = await this.syncHistory(fed, inUse);
    const number = (hash: string | undefined) => (hash ? entries.get(hash)?.revision : undefined);
    const revision = number(target) ?? 0;
    if (!stages) {
      return { target, revision, of: () => ({ send: 'target' }), stageOf: () => undefined, number };
    }
    const labels = (c: string) => this.o.members.cluster(c)?.metadata.labels ?? {};
    const stage = new Map(clusters.map((c) => [c, stageOf(stages, labels(c))] as const));
    const key = `${kind.id}/${objKey}`;
    const members: MemberRollout[] = clusters.map((c) => {
      const copy = copies.get(c);
      const runs = running(c);
      const failed = copy ? rolloutFailed(copy, this.sentAt.get(`${key}|${c}|${target}`)) : undefined;
      return {
        cluster: c,
        stage: stage.get(c)!,
        ...(runs ? { revision: runs } : {}),
        done: copy !== undefined && runs === target && rolledOut(copy),
        ...(failed ? { failed } : {}),
        reachable: this.o.members.readiness(c).ready,
      };
    });
    let timeline = this.timelines.get(key);
    if (timeline?.target !== target) {
      timeline = { target, opened: new Map(), done: new Map() };
      this.timelines.set(key, timeline);
      // What was sent of earlier revisions no longer matters (kept per target: a few entries a workload).
      for (const k of [...this.sentAt.keys()]) if (k.startsWith(`${key}|`) && !k.endsWith(`|${target}`)) this.sentAt.delete(k);
    }
    const state = advance({ stages, members, target, paused: fed.spec?.paused === true, deadlineMs: stageDeadlineMs(fed, nsAnnotations), timeline, now: Date.now() });
    // A member outside the open stages keeps what it runs; one with no copy yet gets what the other
    // members waiting run (the revision before this rollout), or nothing on a first creation.
    const waitingRevisions = members.filter((m) => m.stage > state.open && m.revision && m.revision !== target).map((m) => m.revision!);
    const previous = waitingRevisions.sort((a, b) => (number(b) ?? 0) - (number(a) ?? 0))[0];
    const of = (c: string): MemberRevision => {
      const runs = running(c);
      if ((stage.get(c) ?? 0) <= state.open || runs === target) {
        if (runs !== target && !this.sentAt.has(`${key}|${c}|${target}`)) this.sentAt.set(`${key}|${c}|${target}`, Date.now());
        return { send: 'target' };
      }
      const keep = runs ?? (copies.get(c) ? undefined : previous);
      const entry = keep ? entries.get(keep) : undefined;
      if (entry) return { send: 'older', template: entry.template, hash: entry.hash };
      return { send: 'hold', why: copies.get(c) ? 'its copy runs a revision from before the history; left as it is until its stage' : `waits for its stage (${stage.get(c)! + 1})` };
    };
    return { target, revision, stages, state, of, stageOf: (c) => stage.get(c), number };
  }

  /** One Event when a stage starts and when a rollout halts. */
  async announce(kind: Kind, fed: FederatedObject, plan: RolloutPlan): Promise<void> {
    const { state, stages } = plan;
    if (!state || !stages) return;
    const key = `${kind.id}/${objectKey(fed.metadata)}`;
    const last = this.announced.get(key);
    const same = last?.target === plan.target;
    if (state.phase === 'Halted') {
      if (same && last.halted) return;
      this.announced.set(key, { target: plan.target, open: state.open, halted: true });
      const how = fed.kind === 'Deployment' ? `fix the ${fed.kind} and apply it again, or kubectl rollout undo ${fed.kind.toLowerCase()}/${fed.metadata.name}` : `fix the ${fed.kind} and apply it again`;
      await this.o.events.record(fed, 'Warning', 'RolloutHalted', `revision ${plan.revision}: ${state.message}; later stages keep their revision: ${how}`);
      return;
    }
    // The stage the rollout is in; a complete one (found so after a restart, or an undo to what every
    // member runs) has nothing to announce.
    if (state.phase === 'Complete' || (same && last.open >= state.stage)) {
      if (!same) this.announced.set(key, { target: plan.target, open: state.stage, halted: false });
      return;
    }
    this.announced.set(key, { target: plan.target, open: state.stage, halted: false });
    const text = state.stage < stages.length ? stages[state.stage]!.text : 'the clusters no stage selects';
    await this.o.events.record(fed, 'Normal', 'RolloutStage', `revision ${plan.revision}: stage ${state.stage + 1} of ${stages.length} (${text}) receives it`);
  }

  /** The history's entries for the workload, made current; the ReplicaSets' status follows the members. */
  private async syncHistory(fed: FederatedObject, inUse: Set<string>): Promise<Map<string, HistoryEntry>> {
    const uid = fed.metadata.uid!;
    const entries = [...(this.byOwner.get(uid)?.values() ?? [])];
    const plan = planHistory(fed, entries, inUse);
    if (plan.write) {
      try {
        const written = await this.o.federation.request<FederatedObject>('PATCH', historyPath(plan.write), {
          body: plan.write,
          contentType: 'application/apply-patch+yaml',
          query: { fieldManager: CONTROLLER_MANAGER_FIELD_MANAGER, force: true },
        });
        written.apiVersion = plan.write.apiVersion;
        written.kind = plan.write.kind;
        delete written.metadata.managedFields;
        // Known at once: the next reconcile must not number it again before the watch shows it.
        this.changed(false, written, undefined);
      } catch (err) {
        this.o.log(`${fed.kind} ${objectKey(fed.metadata)}: writing revision ${plan.revision} of its history failed: ${errorMessage(err)}`);
      }
    }
    for (const old of plan.prune) await this.remove(old);
    return this.byOwner.get(uid) ?? new Map();
  }

  /**
   * The ReplicaSets of a Deployment say where each revision runs: the members' counts of the copies
   * running it (what helm's --wait reads of the newest one).
   */
  async writeHistoryStatus(fed: FederatedObject, copies: (FederatedObject | undefined)[]): Promise<number | undefined> {
    if (fed.kind !== 'Deployment') return undefined;
    let due: number | undefined;
    for (const entry of this.byOwner.get(fed.metadata.uid ?? '')?.values() ?? []) {
      const status = replicaSetStatus(entry, copies);
      const had = entry.object.status ?? {};
      if (Object.entries(status).every(([k, v]) => (had[k] ?? 0) === v)) continue;
      // A report: held back to once a second while pods are still coming, written at once when
      // every one is ready (what helm waits for), so it is current when the rollout is.
      const path = historyPath(entry.object);
      const since = Date.now() - (this.statusAt.get(path) ?? 0);
      const settled = status.readyReplicas === status.replicas && status.availableReplicas === status.replicas;
      if (!settled && since < HISTORY_STATUS_INTERVAL_MS) {
        due = Math.min(due ?? Infinity, HISTORY_STATUS_INTERVAL_MS - since);
        continue;
      }
      try {
        await this.o.federation.request('PATCH', `${path}/status`, { body: { status }, contentType: 'application/merge-patch+json' });
        entry.object.status = status;
        this.statusAt.set(path, Date.now());
      } catch (err) {
        if (!isNotFound(err)) this.o.log(`ReplicaSet ${objectKey(entry.object.metadata)}: writing its status failed: ${errorMessage(err)}`);
      }
    }
    return due;
  }

  /** The workload is gone: its history goes too (the federation runs no garbage collector). */
  async forget(kind: Kind, objKey: string): Promise<void> {
    if (!hasRevisions(kind.resource.kind)) return;
    this.timelines.delete(`${kind.id}/${objKey}`);
    for (const k of [...this.sentAt.keys()]) if (k.startsWith(`${kind.id}/${objKey}|`)) this.sentAt.delete(k);
    this.announced.delete(`${kind.id}/${objKey}`);
    const [namespace, name] = objKey.split('/');
    for (const [uid, entries] of [...this.byOwner]) {
      const any = entries.values().next().value;
      if (!any || any.object.metadata.namespace !== namespace || any.object.metadata.labels?.[HISTORY_LABEL] !== name) continue;
      if (kind.fed.items.get(objKey)?.metadata.uid === uid) continue;
      for (const e of [...entries.values()]) await this.remove(e.object);
    }
  }

  /** History whose workload is gone (deleted while the controller manager was down). */
  async sweep(alive: (uid: string) => boolean): Promise<void> {
    for (const [uid, entries] of [...this.byOwner]) if (!alive(uid)) for (const e of [...entries.values()]) await this.remove(e.object);
  }

  private async remove(obj: FederatedObject): Promise<void> {
    this.statusAt.delete(historyPath(obj));
    try {
      await this.o.federation.request('DELETE', historyPath(obj));
    } catch (err) {
      if (!isNotFound(err)) this.o.log(`deleting ${obj.kind} ${objectKey(obj.metadata)} of a revision history failed: ${errorMessage(err)}`);
    }
    this.changed(true, obj, undefined);
  }
}

/** What the Propagation record says of a staged rollout. */
export function rolloutRecord(plan: RolloutPlan): RolloutRecord | undefined {
  const { state, stages } = plan;
  if (!state || !stages) return undefined;
  return { revision: plan.revision, phase: state.phase, stage: Math.min(state.stage, stages.length - 1) + 1, stages: stages.map((s) => s.text), message: state.message };
}

function historyPath(obj: FederatedObject): string {
  const plural = obj.kind === 'ReplicaSet' ? 'replicasets' : 'controllerrevisions';
  return `/apis/apps/v1/namespaces/${encodeURIComponent(obj.metadata.namespace ?? 'default')}/${plural}/${encodeURIComponent(obj.metadata.name)}`;
}
