// What kube-scheduler does for the local nodes, reduced to what the federation's pods ask of it:
// the node's labels against nodeSelector and required node affinity, a claim's volume where it
// already lives (a local volume's node affinity), pod anti-affinity by host name (required: never
// two on one node; preferred: only when no other node is free), and then the node running the
// fewest pods. One runner of a plane schedules for all its nodes, so two never bind one pod.
import type { V1Node, V1NodeSelectorTerm, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodAffinityTerm } from '@kubernetes/client-node';

export interface SchedulingView {
  nodes: V1Node[];
  /** Every pod of the plane, bound or not. */
  pods: V1Pod[];
  claims: V1PersistentVolumeClaim[];
  volumes: V1PersistentVolume[];
}

const HOSTNAME = 'kubernetes.io/hostname';

function matchesTerm(labels: Record<string, string>, term: V1NodeSelectorTerm): boolean {
  return (term.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
}

/** A node selector's terms are ORed; no terms at all select nothing. */
const matchesSelector = (labels: Record<string, string>, terms: V1NodeSelectorTerm[]) => terms.some((t) => matchesTerm(labels, t));

function selects(term: V1PodAffinityTerm, pod: V1Pod, other: V1Pod): boolean {
  const namespaces = term.namespaces?.length ? term.namespaces : [pod.metadata?.namespace];
  if (!namespaces.includes(other.metadata?.namespace)) return false;
  const labels = other.metadata?.labels ?? {};
  const selector = term.labelSelector ?? {};
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    if (e.operator === 'In') return value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'NotIn') return value === undefined || !(e.values ?? []).includes(value);
    if (e.operator === 'Exists') return value !== undefined;
    return value === undefined;
  });
  return byLabel && byExpression;
}

const ready = (node: V1Node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && !node.spec?.unschedulable;

/** The pods on a node that a term of `pod` objects to (only host-name topology is understood). */
function conflicts(term: V1PodAffinityTerm, pod: V1Pod, node: string, running: V1Pod[]): number {
  if (term.topologyKey !== HOSTNAME) throw new Error(`the local pod runner schedules by ${HOSTNAME} topology only, not ${term.topologyKey}`);
  return running.filter((p) => p.spec?.nodeName === node && p.metadata?.uid !== pod.metadata?.uid && selects(term, pod, p)).length;
}

/** The node for the pod, or undefined when none fits now (the pod stays Pending, as it would). */
export function chooseNode(pod: V1Pod, view: SchedulingView): string | undefined {
  const spec = pod.spec ?? { containers: [] };
  const running = view.pods.filter((p) => p.spec?.nodeName && !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  // A bound claim's local volume lives on one node: the pod goes there or nowhere.
  const volumeTerms: V1NodeSelectorTerm[][] = [];
  for (const v of spec.volumes ?? []) {
    const claimName = v.persistentVolumeClaim?.claimName;
    if (!claimName) continue;
    const claim = view.claims.find((c) => c.metadata?.name === claimName && c.metadata?.namespace === pod.metadata?.namespace);
    const volume = claim?.spec?.volumeName ? view.volumes.find((pv) => pv.metadata?.name === claim.spec?.volumeName) : undefined;
    const terms = volume?.spec?.nodeAffinity?.required?.nodeSelectorTerms;
    if (terms) volumeTerms.push(terms);
  }
  const antiAffinity = spec.affinity?.podAntiAffinity;
  const candidates = view.nodes.filter((node) => {
    const labels = node.metadata?.labels ?? {};
    const name = node.metadata!.name!;
    if (!ready(node)) return false;
    if (!Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
    const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    if (required && !matchesSelector(labels, required)) return false;
    if (!volumeTerms.every((terms) => matchesSelector(labels, terms))) return false;
    return (antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).every((t) => conflicts(t, pod, name, running) === 0);
  });
  const score = (node: V1Node) => {
    const name = node.metadata!.name!;
    const preferred = (antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).reduce(
      (sum, w) => sum + w.weight * conflicts(w.podAffinityTerm, pod, name, running),
      0,
    );
    return { preferred, load: running.filter((p) => p.spec?.nodeName === name).length, name };
  };
  const ranked = candidates.map(score).sort((a, b) => a.preferred - b.preferred || a.load - b.load || a.name.localeCompare(b.name));
  return ranked[0]?.name;
}
