// The federation object's native status, combined from its members' copies, so plain kubectl tells
// the truth: replicas summed, observedGeneration current only when every member has observed the
// current template, and conditions that make `kubectl rollout status` wait for the slowest member and
// fail when one fails. Pure functions: tested without a server.
import type { FederatedObject } from './copy.ts';

export interface MemberCopy {
  cluster: string;
  /** The member's copy as last seen; undefined when it has none (yet). */
  object?: FederatedObject;
  /** The copy holds what the federation wants now (the apply went through). */
  current: boolean;
  /**
   * The member answered now. A member that did not (unreachable, or not Ready within its grace
   * period) keeps its share, but its last-known counts are not summed: they may be long gone.
   */
  reachable?: boolean;
  /** It runs an older revision of the pod template than the federation's (a staged rollout has not reached it). */
  outdated?: boolean;
}

/** A staged rollout's stand, as the workload's Progressing condition (replacing the members' own). */
export interface StageCondition {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** The fields that count only replicas of the current template. */
const UPDATED = new Set(['updatedReplicas', 'updatedNumberScheduled']);

const counted = (c: MemberCopy) => c.reachable !== false;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

type Status = Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };

const num = (s: Status | undefined, field: string): number => (typeof s?.[field] === 'number' ? (s[field]) : 0);
const cond = (s: Status | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

/** The copy's controller has seen its current spec. */
export function observed(copy: MemberCopy): boolean {
  const o = copy.object;
  if (!copy.current || !o) return false;
  const s = o.status;
  return Number(s?.observedGeneration ?? 0) >= (o.metadata.generation ?? 0);
}

const SUMMED: Record<string, string[]> = {
  Deployment: ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'],
  ReplicaSet: ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'],
  StatefulSet: ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas'],
  DaemonSet: ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'],
  Job: ['active', 'failed', 'ready'],
};

/** Kinds whose status this combines; others get none. */
export const hasAggregatedStatus = (kind: string): boolean => kind in SUMMED || kind === 'Service';

/** A condition that keeps its times while its status and reason stay the same. */
function keepTimes(next: Condition, previous: Condition | undefined, now: string): Condition {
  const same = previous && previous.status === next.status && previous.reason === next.reason;
  return {
    ...next,
    lastUpdateTime: same && previous.message === next.message ? (previous.lastUpdateTime ?? now) : now,
    lastTransitionTime: same ? (previous.lastTransitionTime ?? now) : now,
  };
}

function workloadConditions(kind: string, copies: MemberCopy[], prev: Status | undefined, now: string, nothing: string | undefined, stage: StageCondition | undefined): Condition[] {
  if (stage && nothing === undefined) {
    const progressing = keepTimes({ type: 'Progressing', ...stage }, cond(prev, 'Progressing'), now);
    if (kind !== 'Deployment') return [progressing];
    const available = workloadConditions(kind, copies, prev, now, nothing, undefined).find((c) => c.type === 'Available');
    return [...(available ? [available] : []), progressing];
  }
  if (kind !== 'Deployment') return [];
  if (nothing !== undefined) {
    // No member runs it: never Available, and `kubectl rollout status` ends (it fails only on this reason).
    return [
      keepTimes({ type: 'Available', status: 'False', reason: 'NoClustersSelected', message: nothing }, cond(prev, 'Available'), now),
      keepTimes({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: nothing }, cond(prev, 'Progressing'), now),
    ];
  }
  const failed = copies.filter((c) => counted(c) && cond(c.object?.status as Status, 'Progressing')?.reason === 'ProgressDeadlineExceeded');
  const unreachable = copies.filter((c) => !counted(c)).map((c) => c.cluster);
  const unavailable = copies.filter((c) => counted(c) && cond(c.object?.status as Status, 'Available')?.status !== 'True').map((c) => c.cluster);
  const complete = copies.every((c) => counted(c) && !c.outdated && observed(c) && cond(c.object?.status as Status, 'Progressing')?.reason === 'NewReplicaSetAvailable');
  const notAvailable = [...unavailable.map((c) => `not available in ${c}`), ...unreachable.map((c) => `cluster ${c} is unreachable (its replicas are not counted)`)];
  const available: Condition = notAvailable.length === 0
    ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: `available in every member (${copies.length})` }
    : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: notAvailable.join('; ') };
  const progressing: Condition = failed.length > 0
    ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: failed.map((f) => `cluster ${f.cluster}: ${cond(f.object?.status, 'Progressing')?.message ?? 'progress deadline exceeded'}`).join('; ') }
    : complete
      ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'rolled out in every member' }
      : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: unreachable.length > 0 ? `rolling out in the members; waiting for ${unreachable.join(', ')} (unreachable)` : 'rolling out in the members' };
  return [keepTimes(available, cond(prev, 'Available'), now), keepTimes(progressing, cond(prev, 'Progressing'), now)];
}

function jobStatus(copies: MemberCopy[], prev: Status | undefined, now: string): Status {
  const status: Status = {};
  for (const f of SUMMED.Job!) status[f] = copies.reduce((s, c) => s + num(c.object?.status as Status, f), 0);
  // Every member runs the whole Job: succeeded is what each has reached at least.
  status.succeeded = copies.length === 0 ? 0 : Math.min(...copies.map((c) => num(c.object?.status as Status, 'succeeded')));
  const starts = copies.map((c) => (c.object?.status)?.startTime).filter((t): t is string => typeof t === 'string').sort();
  if (starts[0]) status.startTime = starts[0];
  const failedIn = copies.find((c) => cond(c.object?.status as Status, 'Failed')?.status === 'True');
  const allComplete = copies.length > 0 && copies.every((c) => cond(c.object?.status as Status, 'Complete')?.status === 'True');
  const conditions: Condition[] = [];
  if (failedIn) {
    const f = cond(failedIn.object?.status, 'Failed')!;
    conditions.push(keepTimes({ type: 'FailureTarget', status: 'True', reason: f.reason ?? 'BackoffLimitExceeded', message: `cluster ${failedIn.cluster}: ${f.message ?? ''}` }, cond(prev, 'FailureTarget'), now));
    conditions.push(keepTimes({ type: 'Failed', status: 'True', reason: f.reason ?? 'BackoffLimitExceeded', message: `cluster ${failedIn.cluster}: ${f.message ?? ''}` }, cond(prev, 'Failed'), now));
  } else if (allComplete) {
    const ends = copies.map((c) => (c.object?.status)?.completionTime).filter((t): t is string => typeof t === 'string').sort();
    conditions.push(keepTimes({ type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'complete in every member' }, cond(prev, 'SuccessCriteriaMet'), now));
    conditions.push(keepTimes({ type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'complete in every member' }, cond(prev, 'Complete'), now));
    status.completionTime = ends.at(-1) ?? now;
  }
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/**
 * The status the federation's object should have, or undefined for kinds without one.
 * `generation` is the federation object's; `prev` its present status (for condition times).
 */
export function aggregateStatus(kind: string, generation: number, copies: MemberCopy[], prev: Status | undefined, now: string, nothing?: string, stage?: StageCondition): Status | undefined {
  if (kind === 'Service') {
    const ingress = copies.filter(counted).flatMap((c) => ((c.object?.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress ?? []));
    return { loadBalancer: ingress.length > 0 ? { ingress } : {} };
  }
  const fields = SUMMED[kind];
  if (!fields) return undefined;
  // Until every member has seen this generation, the federation's object has not either. A workload
  // no member runs has not been observed by any (only a Deployment can say so in a condition).
  const everyObserved = copies.every(observed) && (nothing === undefined || kind === 'Deployment');
  const observedGeneration = everyObserved ? generation : Math.min(prev?.observedGeneration ?? 0, Math.max(generation - 1, 0));
  if (kind === 'Job') return jobStatus(copies.filter(counted), prev, now);
  const status: Status = { observedGeneration };
  for (const f of fields) status[f] = copies.reduce((s, c) => s + (counted(c) && !(c.outdated && UPDATED.has(f)) ? num(c.object?.status as Status, f) : 0), 0);
  if (kind === 'StatefulSet') {
    const revisions = copies.map((c) => c.object?.status);
    const update = revisions[0]?.updateRevision;
    const settled = !copies.some((c) => c.outdated) && revisions.every((s) => s?.updateRevision !== undefined && s.updateRevision === s.currentRevision);
    if (typeof update === 'string') {
      status.updateRevision = update;
      status.currentRevision = settled ? update : `${update}-rolling`;
    }
  }
  const conditions = workloadConditions(kind, copies, prev, now, nothing, stage);
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/**
 * JSON with keys sorted at every level, so equal values print equal. Built as one string without
 * intermediate arrays: the controller digests every member's copy on every reconcile with it.
 */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + (canonical(v[i]) ?? '');
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonical(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** True when the statuses differ in anything but condition times; fields of a not in b are ignored. */
export function statusDiffers(a: Status | undefined, b: Status): boolean {
  const strip = (s: Status | undefined) => {
    const picked = Object.fromEntries(Object.keys(b).map((k) => [k, s?.[k]]));
    if (Array.isArray(picked.conditions)) {
      picked.conditions = (picked.conditions as Condition[]).map((c) => ({ ...c, lastUpdateTime: undefined, lastTransitionTime: undefined }));
    }
    return canonical(picked);
  };
  return strip(a) !== strip(b);
}
