// Staged rollouts across clusters: the rollout-stages annotation (on a workload or its namespace)
// lists stages in order as cluster selectors, each with an optional soak time, and a new revision
// of the pod template reaches a stage's members only once every earlier stage has rolled it out,
// become available and soaked. Everything here is derived from what the members run (the revision
// on each copy), so a controller manager that restarts resumes where the members are: it never
// skips a stage, and a soak it was in starts again. Pure functions: tested without a server.
import { formatDuration, parseDuration } from '../duration.ts';
import { ANNOTATIONS } from './annotations.ts';
import type { FederatedObject } from './copy.ts';
import { matches, parseSelector, type Selector } from './selector.ts';
import type { StageCondition } from './status.ts';

export const STAGES_ANNOTATION = ANNOTATIONS.rolloutStages;
/** How long a stage may take to roll out and become available before the rollout halts. */
export const STAGE_DEADLINE_ANNOTATION = ANNOTATIONS.rolloutStageDeadline;

export interface Stage {
  text: string;
  selector: Selector;
  soakMs: number;
}

/**
 * "env=canary@5m; region=eu; *": stages separated by ";", each a label selector over Cluster labels
 * ("*" or empty: every cluster not in an earlier stage), "@DURATION" to soak after it is done.
 * Throws with what to write instead.
 */
export function parseStages(value: string): Stage[] {
  const parts = value.split(';').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`${STAGES_ANNOTATION} is empty; write e.g. "env=canary@10m; region=eu; *" or remove it`);
  return parts.map((part, i) => {
    const at = part.lastIndexOf('@');
    const sel = (at >= 0 ? part.slice(0, at) : part).trim();
    let soakMs = 0;
    try {
      if (at >= 0) soakMs = parseDuration(part.slice(at + 1), 'soak');
      return { text: sel === '' || sel === '*' ? '*' : sel, selector: sel === '*' ? [] : parseSelector(sel), soakMs };
    } catch (err) {
      throw new Error(`${STAGES_ANNOTATION}: stage ${i + 1} "${part}": ${(err as Error).message}; write e.g. "env=canary@10m; region=eu; *"`, { cause: err });
    }
  });
}

/** The first stage a cluster's labels match; a cluster no stage matches comes after the last. */
export function stageOf(stages: Stage[], labels: Record<string, string>): number {
  const i = stages.findIndex((s) => matches(s.selector, labels));
  return i < 0 ? stages.length : i;
}

/** The stages of an object: its own annotation, else its namespace's; undefined: not staged. */
export function stagesOf(obj: FederatedObject, namespaceAnnotations: Record<string, string>): Stage[] | undefined {
  const value = obj.metadata.annotations?.[STAGES_ANNOTATION] ?? namespaceAnnotations[STAGES_ANNOTATION];
  return value === undefined ? undefined : parseStages(value);
}

/** The time a stage may take: the annotation, else the Deployment's progress deadline, else 10 minutes. */
export function stageDeadlineMs(obj: FederatedObject, namespaceAnnotations: Record<string, string>): number {
  const value = obj.metadata.annotations?.[STAGE_DEADLINE_ANNOTATION] ?? namespaceAnnotations[STAGE_DEADLINE_ANNOTATION];
  if (value !== undefined) return parseDuration(value, STAGE_DEADLINE_ANNOTATION);
  const seconds = obj.spec?.progressDeadlineSeconds;
  return typeof seconds === 'number' ? seconds * 1000 : 600_000;
}

interface Cond { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string; lastTransitionTime?: string }
type WorkloadStatus = Record<string, unknown> & { conditions?: Cond[]; observedGeneration?: number };
const n = (s: WorkloadStatus | undefined, f: string) => (typeof s?.[f] === 'number' ? s[f] : 0);

/** A member's copy has rolled out its template and is available (what a stage waits for). */
export function rolledOut(copy: FederatedObject): boolean {
  const s: WorkloadStatus | undefined = copy.status;
  if (!s || (s.observedGeneration ?? 0) < (copy.metadata.generation ?? 0)) return false;
  const want = typeof copy.spec?.replicas === 'number' ? copy.spec.replicas : 1;
  switch (copy.kind) {
    case 'Deployment':
      return n(s, 'updatedReplicas') >= want && n(s, 'availableReplicas') >= want && n(s, 'replicas') <= want;
    case 'StatefulSet':
      return s.updateRevision === s.currentRevision && n(s, 'readyReplicas') >= want && n(s, 'availableReplicas') >= want;
    case 'DaemonSet':
      return n(s, 'updatedNumberScheduled') >= n(s, 'desiredNumberScheduled') && n(s, 'numberAvailable') >= n(s, 'desiredNumberScheduled');
    default:
      return true;
  }
}

/**
 * Why a member's rollout failed by itself (a Deployment past its progress deadline), if it did.
 * `sentAt`: when the revision was sent to the member, if known. A failure from before is not about
 * it: the deployment controller keeps a timed-out condition, with its time, through the first sync
 * after a change that shows no progress yet (seen right after an undo), so its time tells.
 */
export function rolloutFailed(copy: FederatedObject, sentAt?: number): string | undefined {
  const status: WorkloadStatus | undefined = copy.status;
  // A condition from before the copy's last change is not about what it runs now.
  if ((status?.observedGeneration ?? 0) < (copy.metadata.generation ?? 0)) return undefined;
  const c = status?.conditions?.find((x) => x.type === 'Progressing');
  if (c?.reason !== 'ProgressDeadlineExceeded') return undefined;
  // Whole seconds on the condition: compared in whole seconds.
  const at = Date.parse(c.lastUpdateTime ?? c.lastTransitionTime ?? '');
  if (sentAt !== undefined && !Number.isNaN(at) && at < Math.floor(sentAt / 1000) * 1000) return undefined;
  return c.message ?? 'progress deadline exceeded';
}

export interface MemberRollout {
  cluster: string;
  stage: number;
  /** The revision (template hash) its copy runs; undefined: no copy, or one from before revisions. */
  revision?: string;
  /** Its copy runs the revision, rolled out and available. */
  done: boolean;
  /** Its own rollout failed (only counted when it runs the target revision). */
  failed?: string;
  /** It is Ready and answered now: a stage waits for members that are not. */
  reachable: boolean;
}

/** What this process remembers of a rollout; lost on restart, which only makes it wait longer. */
export interface Timeline {
  target: string;
  /** When each stage was first seen open / done for the target. */
  opened: Map<number, number>;
  done: Map<number, number>;
}

export type Phase = 'Progressing' | 'Soaking' | 'Paused' | 'Halted' | 'Complete';

export interface RolloutState {
  phase: Phase;
  /** The stage it is in (index); stages.length when complete. */
  stage: number;
  /** Members in stages up to this one get the target revision. */
  open: number;
  message: string;
  /** The member and reason of a halt. */
  halted?: { cluster?: string; reason: string };
  /** When to look again (a soak or a deadline ending), ms from now. */
  nextMs?: number;
}

export interface RolloutInput {
  stages: Stage[];
  members: MemberRollout[];
  target: string;
  paused: boolean;
  deadlineMs: number;
  timeline: Timeline;
  now: number;
}

const stageName = (stages: Stage[], i: number) => (i < stages.length ? `stage ${i + 1} of ${stages.length} (${stages[i]!.text})` : `the clusters no stage selects`);

/** Where a rollout of the target revision stands, and how far it may go now. */
export function advance(input: RolloutInput): RolloutState {
  const { stages, members, target, paused, deadlineMs, timeline, now } = input;
  const last = members.reduce((m, x) => Math.max(m, x.stage), stages.length - 1);
  // A stage a member already runs the target in was opened before (by this process or an earlier
  // one): what was sent is never taken back, and a pause holds at least there.
  const sent = members.reduce((m, x) => (x.revision === target ? Math.max(m, x.stage) : m), 0);
  for (let s = 0; s <= last; s++) {
    const inStage = members.filter((m) => m.stage === s);
    if (inStage.length === 0) continue;
    if (!timeline.opened.has(s)) timeline.opened.set(s, now);
    const name = stageName(stages, s);
    const failed = inStage.find((m) => m.revision === target && m.failed);
    if (failed) {
      return { phase: 'Halted', stage: s, open: Math.max(s, sent), halted: { cluster: failed.cluster, reason: failed.failed! }, message: `${name} halted: cluster ${failed.cluster}: ${failed.failed}` };
    }
    const waiting = inStage.filter((m) => !(m.revision === target && m.done));
    if (waiting.length > 0) {
      // A paused rollout has no deadline (as a paused Deployment has none); it counts again from the resume.
      if (paused) timeline.opened.set(s, now);
      const opened = timeline.opened.get(s)!;
      if (now - opened > deadlineMs) {
        const reason = `not rolled out and available within ${formatDuration(deadlineMs)} in ${waiting.map((m) => m.cluster).join(', ')}`;
        return { phase: 'Halted', stage: s, open: Math.max(s, sent), halted: { ...(waiting.length === 1 ? { cluster: waiting[0]!.cluster } : {}), reason }, message: `${name} halted: ${reason}` };
      }
      const unreachable = waiting.filter((m) => !m.reachable).map((m) => m.cluster);
      const message = `${name}: rolling out in ${waiting.map((m) => m.cluster).join(', ')}${unreachable.length ? ` (waiting for ${unreachable.join(', ')}, not Ready)` : ''}`;
      // Paused: the members' own rollouts are paused too (their copies carry it), so the stage waits.
      if (paused) return { phase: 'Paused', stage: s, open: Math.max(s, sent), message: `paused in ${message} (kubectl rollout resume to go on)` };
      return { phase: 'Progressing', stage: s, open: Math.max(s, sent), message, nextMs: opened + deadlineMs - now + 50 };
    }
    if (!timeline.done.has(s)) timeline.done.set(s, now);
    const soakEnds = timeline.done.get(s)! + (stages[s]?.soakMs ?? 0);
    const hasNext = members.some((m) => m.stage > s);
    if (!hasNext) break;
    if (now < soakEnds) {
      return { phase: 'Soaking', stage: s, open: Math.max(s, sent), message: `${name} done; soaking until ${new Date(soakEnds).toISOString()}, then the next stage`, nextMs: soakEnds - now + 10 };
    }
    if (paused && sent <= s) {
      return { phase: 'Paused', stage: s, open: s, message: `${name} done; paused before the next stage (kubectl rollout resume to go on)` };
    }
  }
  return { phase: 'Complete', stage: stages.length, open: last, message: `rolled out in every stage (${stages.length})` };
}

/** A staged rollout's stand as the workload's Progressing condition: what `kubectl rollout status` and `describe` read. */
export function stageCondition(state: RolloutState, fed: FederatedObject): StageCondition {
  switch (state.phase) {
    case 'Halted': {
      const how = fed.kind === 'Deployment' ? `fix it and apply it again, or kubectl rollout undo deployment/${fed.metadata.name}` : 'fix it and apply it again';
      return { status: 'False', reason: 'ProgressDeadlineExceeded', message: `${state.message}; later stages keep their revision: ${how}` };
    }
    case 'Paused':
      return { status: 'Unknown', reason: 'DeploymentPaused', message: state.message };
    default:
      return { status: 'True', reason: 'ReplicaSetUpdated', message: state.message };
  }
}
