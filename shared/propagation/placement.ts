// Where an object goes and how many replicas each member runs: pure functions of the object's
// annotations, the members' labels and readiness, so every rule is tested without a server.
import { ANNOTATIONS, parseScheduling, parseWeights } from './annotations.ts';
import { matches, parseSelector } from './selector.ts';

export interface MemberView {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  /** When Ready last turned to its present status (ms since the epoch; 0 if never). */
  since: number;
}

export interface PlacementInput {
  objectAnnotations: Record<string, string>;
  /** The annotations of the object's namespace (none for cluster-scoped objects). */
  namespaceAnnotations: Record<string, string>;
  members: MemberView[];
  now: number;
  /** How long a member that turned NotReady keeps its share before it moves to the others. */
  graceMs: number;
}

export interface Placement {
  /** Members that get the object, by name. */
  clusters: string[];
  /** Of those, members whose share is kept for them while they are not Ready (the grace period). */
  waiting: string[];
}

/** The selector in force: the object's own wins over its namespace's. */
export function selectorText(input: Pick<PlacementInput, 'objectAnnotations' | 'namespaceAnnotations'>): string | undefined {
  return input.objectAnnotations[ANNOTATIONS.clusterSelector] ?? input.namespaceAnnotations[ANNOTATIONS.clusterSelector];
}

/** Matching members that are Ready, plus those not Ready for less than the grace period. Throws on a bad selector. */
export function place(input: PlacementInput): Placement {
  const text = selectorText(input);
  const selector = text === undefined ? [] : parseSelector(text);
  const clusters: string[] = [];
  const waiting: string[] = [];
  for (const m of [...input.members].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!matches(selector, m.labels)) continue;
    if (m.ready) clusters.push(m.name);
    else if (m.since > 0 && input.now - m.since < input.graceMs) {
      clusters.push(m.name);
      waiting.push(m.name);
    }
  }
  return { clusters, waiting };
}

/**
 * Each member's replicas. Divide (default): the total split evenly, or by the weights annotation
 * (largest remainders first, ties by name, so the answer never changes between runs); Duplicate:
 * everyone gets the total. Throws on bad annotations.
 */
export function divideReplicas(total: number, clusters: string[], annotations: Record<string, string>): Map<string, number> {
  const shares = new Map<string, number>();
  const names = [...clusters].sort();
  if (parseScheduling(annotations[ANNOTATIONS.replicaScheduling]) === 'Duplicate') {
    for (const n of names) shares.set(n, total);
    return shares;
  }
  const weightText = annotations[ANNOTATIONS.replicaWeights];
  const weights = weightText === undefined ? new Map(names.map((n) => [n, 1])) : parseWeights(weightText);
  const sum = names.reduce((s, n) => s + (weights.get(n) ?? 0), 0);
  if (sum === 0) {
    for (const n of names) shares.set(n, 0);
    return shares;
  }
  let given = 0;
  const remainders: { name: string; rest: number }[] = [];
  for (const n of names) {
    const exact = (total * (weights.get(n) ?? 0)) / sum;
    const floor = Math.floor(exact);
    shares.set(n, floor);
    given += floor;
    remainders.push({ name: n, rest: exact - floor });
  }
  remainders.sort((a, b) => b.rest - a.rest || a.name.localeCompare(b.name));
  for (let i = 0; i < total - given; i++) {
    const r = remainders[i % remainders.length]!;
    shares.set(r.name, shares.get(r.name)! + 1);
  }
  return shares;
}
