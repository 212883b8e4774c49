// How users steer propagation: annotations on the federation's object (or on its namespace, for
// everything inside it), and the labels that mark a member's copy as this federation's.
import { FEDERATION_GROUP } from '../constants.ts';

export const PREFIX = `propagation.${FEDERATION_GROUP}`;

export const ANNOTATIONS = {
  /** A label selector over Cluster labels: only matching members get the object. */
  clusterSelector: `${PREFIX}/cluster-selector`,
  /** Divide (default): spec.replicas is the total, shared among members; Duplicate: each gets it all. */
  replicaScheduling: `${PREFIX}/replica-scheduling`,
  /** "member-1=2,member-2=1": shares in proportion (members not named get none). */
  replicaWeights: `${PREFIX}/replica-weights`,
  /** "true": deleting the federation's object leaves its copies in the members. */
  orphan: `${PREFIX}/orphan-on-delete`,
  /** "true": take over a member object of the same name that this federation did not create. */
  adopt: `${PREFIX}/adopt`,
  /** Repair (default): a copy changed in a member is put back; Report: it is only reported. On the object or its namespace. */
  drift: `${PREFIX}/drift`,
  /** "/spec/replicas,/data/color": JSON pointers set at creation, then left to the member. */
  memberOwned: `${PREFIX}/member-owned-fields`,
  /** "env=canary@10m; region=eu; *": a new pod template reaches the stages in order. On a workload or its namespace. */
  rolloutStages: `${PREFIX}/rollout-stages`,
  /** "15m": how long a stage may take before the rollout halts (default: the progress deadline, else 10m). */
  rolloutStageDeadline: `${PREFIX}/rollout-stage-deadline`,
} as const;

/** On every copy: which federation (by its API server's identity) propagated it. */
export const PROPAGATED_BY_LABEL = `${PREFIX}/federation-id`;
/** On the federation's objects: held until every member has let go of its copy. */
export const PROPAGATION_FINALIZER = `${PREFIX}/cleanup`;

export type Scheduling = 'Divide' | 'Duplicate';

/** Weights from "a=2,b=1"; throws with what to write instead. */
export function parseWeights(value: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(\d+)$/.exec(part);
    if (!m) throw new Error(`${ANNOTATIONS.replicaWeights}: "${part}" is not CLUSTER=WEIGHT; write e.g. "member-1=2,member-2=1"`);
    weights.set(m[1]!, Number(m[3]));
  }
  if (weights.size === 0) throw new Error(`${ANNOTATIONS.replicaWeights} is empty; write e.g. "member-1=2,member-2=1" or remove it`);
  return weights;
}

export function parseScheduling(value: string | undefined): Scheduling {
  if (value === undefined || value === 'Divide') return 'Divide';
  if (value === 'Duplicate') return 'Duplicate';
  throw new Error(`${ANNOTATIONS.replicaScheduling}: "${value}" is neither Divide nor Duplicate`);
}
