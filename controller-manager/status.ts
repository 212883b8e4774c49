// From probe results to a Cluster's conditions: pure functions, so the damping and the rules for
// when a condition (and so the object) changes are tested without any server.
import type { ClusterCondition } from '../shared/manifests/federation-api.ts';

/** What one probe of a member found. */
export type Observation =
  | { kind: 'ready' }
  | { kind: 'notReady' | 'unreachable' | 'unauthorized'; message: string }
  /** Problems of configuration, not of health: reported at once, with no damping. */
  | { kind: 'invalidSpec' | 'secretMissing'; message: string };

export const REASONS = {
  ready: 'ClusterReady',
  notReady: 'ClusterNotReady',
  unreachable: 'ClusterNotReachable',
  unauthorized: 'Unauthorized',
  invalidSpec: 'InvalidSpec',
  secretMissing: 'SecretMissing',
} as const;

export interface Thresholds {
  /** Consecutive successful probes before a not-ready cluster is Ready again. */
  success: number;
  /** Consecutive failed probes before a Ready cluster is reported not ready. */
  failure: number;
}

/** Per-cluster memory between probes. */
export interface Streak {
  successes: number;
  failures: number;
  /** When the last failure that counted was seen (ms). */
  lastFailureAt?: number;
}

/** When a probe ran, and the probe period: failures count at most once a period. */
export interface ProbeClock {
  now: number;
  periodMs: number;
}

const isHealthy = (o: Observation) => o.kind === 'ready';
const damped = (o: Observation) => o.kind !== 'invalidSpec' && o.kind !== 'secretMissing';

/**
 * The observation that counts after damping: a Ready cluster stays Ready until `failure` failed
 * probes in a row; a not-ready one turns Ready after `success` good ones. A cluster with no
 * condition yet takes the first observation as it is. Given a clock, failures less than a period
 * apart count once: probes an event brings early (a changed Secret, a re-listed watch) must not turn
 * `failure` periods of grace into a few milliseconds.
 */
export function decide(current: ClusterCondition | undefined, o: Observation, streak: Streak, t: Thresholds, clock?: ProbeClock): Observation | undefined {
  if (isHealthy(o)) {
    streak.successes += 1;
    streak.failures = 0;
    streak.lastFailureAt = undefined;
  } else {
    // 0.9: a probe that comes back a little early still counts as the next period's.
    const early = clock !== undefined && streak.failures > 0 && streak.lastFailureAt !== undefined && clock.now - streak.lastFailureAt < clock.periodMs * 0.9;
    if (!early) {
      streak.failures += 1;
      if (clock) streak.lastFailureAt = clock.now;
    }
    streak.successes = 0;
  }
  if (!current) return o;
  const wasReady = current.status === 'True';
  if (isHealthy(o)) return wasReady || streak.successes >= t.success ? o : undefined;
  if (!damped(o) || !wasReady) return o;
  return streak.failures >= t.failure ? o : undefined;
}

function condition(
  type: ClusterCondition['type'],
  status: ClusterCondition['status'],
  reason: string,
  message: string,
  previous: ClusterCondition | undefined,
  now: string,
): ClusterCondition {
  return {
    type,
    status,
    reason,
    message,
    lastProbeTime: now,
    // A condition whose status did not change keeps the time it last changed.
    lastTransitionTime: previous?.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : now,
  };
}

/** Ready and Offline for an observation that counts. */
export function conditionsFor(o: Observation, previous: ClusterCondition[] | undefined, now: string): ClusterCondition[] {
  const prevReady = previous?.find((c) => c.type === 'Ready');
  const prevOffline = previous?.find((c) => c.type === 'Offline');
  const ready =
    o.kind === 'ready'
      ? condition('Ready', 'True', REASONS.ready, '/readyz responded with ok', prevReady, now)
      : condition('Ready', 'False', REASONS[o.kind], o.message, prevReady, now);
  const offline =
    o.kind === 'unreachable'
      ? condition('Offline', 'True', REASONS.unreachable, o.message, prevOffline, now)
      : condition('Offline', 'False', 'ClusterReachable', 'the cluster answered', prevOffline, now);
  return [ready, offline];
}

/** True when the conditions say something different (times aside). */
export function conditionsDiffer(a: ClusterCondition[] | undefined, b: ClusterCondition[]): boolean {
  const key = (c: ClusterCondition) => `${c.type}|${c.status}|${c.reason ?? ''}|${c.message ?? ''}`;
  const left = (a ?? []).map(key).sort().join('\n');
  const right = b.map(key).sort().join('\n');
  return left !== right;
}
