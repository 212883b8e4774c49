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
  /**
   * Of those, members whose share is kept for them while they are not Ready, each with the moment
   * its grace period ends (ms since the epoch): then the share moves to the others.
   */
  waiting: Map<string, number>;
  /** A dependency that follows its workloads: the ones that placed it ("Deployment/web"). */
  placedBy?: string[];
}

/**
 * The selector in force: its namespace's and the object's own, both (a label selector's commas are
 * "and"). An object's selector only narrows where its namespace places it, never widens it: whoever
 * may place a namespace (its annotations) decides where everything in it may go.
 */
export function selectorText(input: Pick<PlacementInput, 'objectAnnotations' | 'namespaceAnnotations'>): string | undefined {
  const parts = [input.namespaceAnnotations[ANNOTATIONS.clusterSelector], input.objectAnnotations[ANNOTATIONS.clusterSelector]].filter((p) => p !== undefined && p.trim() !== '');
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** Matching members that are Ready, plus those not Ready for less than the grace period. Throws on a bad selector. */
export function place(input: PlacementInput): Placement {
  // Parsed apart, so an error quotes the annotation the user wrote.
  const selector = [input.namespaceAnnotations[ANNOTATIONS.clusterSelector], input.objectAnnotations[ANNOTATIONS.clusterSelector]].flatMap((t) => (t === undefined ? [] : parseSelector(t)));
  const clusters: string[] = [];
  const waiting = new Map<string, number>();
  for (const m of [...input.members].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!matches(selector, m.labels)) continue;
    if (m.ready) clusters.push(m.name);
    else if (m.since > 0 && input.now - m.since < input.graceMs) {
      clusters.push(m.name);
      waiting.set(m.name, m.since + input.graceMs);
    }
  }
  return { clusters, waiting };
}

/** A cluster's labels less the ones join sets for its own bookkeeping (every Cluster has them). */
const userLabels = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([k]) => !k.startsWith('app.kubernetes.io/') && !k.startsWith('federation.kubectl-federation.io/'))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/**
 * Why place() chose no member, in one line a user can act on: the selector in force and where it
 * comes from, and every cluster with its readiness and labels (the first 20).
 */
export function explainNoCluster(input: PlacementInput): string {
  if (input.members.length === 0) return 'no cluster is joined to the federation: join one with kubectl federation join CLUSTER';
  const own = input.objectAnnotations[ANNOTATIONS.clusterSelector] !== undefined;
  const inherited = input.namespaceAnnotations[ANNOTATIONS.clusterSelector] !== undefined;
  const text = selectorText(input);
  const where = own && inherited ? "its namespace's and the object's" : own ? "the object's" : "its namespace's";
  const shown = [...input.members].sort((a, b) => a.name.localeCompare(b.name)).slice(0, 20);
  const list = shown.map((m) => `${m.name} (${m.ready ? 'Ready' : 'not Ready'}; ${userLabels(m.labels) || 'no labels'})`).join(', ');
  const more = input.members.length > shown.length ? ` and ${input.members.length - shown.length} more` : '';
  const head = text === undefined
    ? 'no cluster is Ready'
    : `no Ready cluster matches ${where} ${ANNOTATIONS.clusterSelector} "${text}"`;
  return `${head}; clusters: ${list}${more}. Change the selector or the clusters' labels (kubectl label cluster NAME KEY=VALUE), or wait for a member to be Ready`;
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
