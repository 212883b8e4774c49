// The revision history of a federated workload, kept in the federation the way kubectl reads it: a
// Deployment's revisions as ReplicaSets it controls (revision in the deployment.kubernetes.io/revision
// annotation), a StatefulSet's or DaemonSet's as ControllerRevisions. The federation runs no workload
// controllers, so the propagation controller writes them; they are never propagated (the history
// label keeps them home). A revision is a pod template: replicas and the rest are not revisions, as
// in one cluster. Pure functions: tested without a server.
import { createHash } from 'node:crypto';
import { PREFIX } from './annotations.ts';
import type { FederatedObject } from './copy.ts';
import { rolledOut } from './stages.ts';
import { canonical } from './status.ts';

/** On every history object: the name of the workload whose revision it is (also keeps it home). */
export const HISTORY_LABEL = `${PREFIX}/history-of`;
/** On each member's copy: the revision (template hash) the copy runs. */
export const REVISION_ANNOTATION = `${PREFIX}/revision`;

export const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const POD_TEMPLATE_HASH = 'pod-template-hash';
const CONTROLLER_REVISION_HASH = 'controller-revision-hash';
/** Annotations of a Deployment its ReplicaSets do not carry (kubectl's rollback skips them too). */
const NOT_COPIED = [/^kubectl\.kubernetes\.io\/last-applied-configuration$/, /^deployment\.kubernetes\.io\//];

/** Kinds with a revision history and stages: those whose pods come from spec.template. */
export const hasRevisions = (kind: string): boolean => kind === 'Deployment' || kind === 'StatefulSet' || kind === 'DaemonSet';

export type Template = Record<string, unknown>;
export const templateOf = (obj: FederatedObject): Template | undefined => obj.spec?.template as Template | undefined;

// The alphabet Kubernetes uses for generated name suffixes: no vowels, no look-alikes.
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** Hashes of templates the caches hold: a cached object is replaced, never changed, when its object changes. */
const hashes = new WeakMap<object, string>();

/** A template's revision: a short name-safe digest of its canonical JSON. */
export function templateHash(template: Template | undefined): string {
  const known = template && hashes.get(template);
  if (known) return known;
  const digest = createHash('sha256').update(canonical(template ?? {})).digest();
  const hash = Array.from(digest.subarray(0, 10), (b) => SAFE[b % SAFE.length]).join('');
  if (template) hashes.set(template, hash);
  return hash;
}

interface Owned {
  ownerReferences?: { uid?: string; controller?: boolean }[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One revision as stored in the federation. */
export interface HistoryEntry {
  /** The history object (ReplicaSet or ControllerRevision). */
  object: FederatedObject;
  hash: string;
  revision: number;
  template: Template;
}

/** The workload's UID that controls a history object. */
export const ownerUid = (h: FederatedObject): string | undefined => (h.metadata as Owned).ownerReferences?.find((o) => o.controller)?.uid;

/** Reads a history object back: its hash, revision number and the template it holds. */
export function readHistory(h: FederatedObject): HistoryEntry | undefined {
  const labels = h.metadata.labels ?? {};
  if (h.kind === 'ReplicaSet' || (h.spec && 'template' in h.spec)) {
    const hash = labels[POD_TEMPLATE_HASH];
    const template = structuredClone(h.spec?.template as Template | undefined);
    if (!hash || !template) return undefined;
    // The hash label is the ReplicaSet's, not the Deployment's template.
    const meta = template.metadata as { labels?: Record<string, string> } | undefined;
    if (meta?.labels) {
      delete meta.labels[POD_TEMPLATE_HASH];
    }
    return { object: h, hash, revision: Number(h.metadata.annotations?.[DEPLOYMENT_REVISION] ?? 0), template };
  }
  const hash = labels[CONTROLLER_REVISION_HASH];
  const data = (h as { data?: { spec?: { template?: Template } } }).data;
  const template = structuredClone(data?.spec?.template);
  if (!hash || !template) return undefined;
  delete template.$patch;
  return { object: h, hash, revision: Number((h as { revision?: number }).revision ?? 0), template };
}

const ownerRef = (w: FederatedObject) => [{ apiVersion: w.apiVersion, kind: w.kind, name: w.metadata.name, uid: w.metadata.uid, controller: true, blockOwnerDeletion: true }];

/**
 * The annotations of the history object at a revision number. A Deployment's ReplicaSet carries the
 * Deployment's annotations, as the deployment controller copies them to its newest ReplicaSet
 * (`kubectl rollout undo` writes them back from there), and a revision used again keeps the numbers
 * it had; a ControllerRevision carries the change cause.
 */
function historyAnnotations(w: FederatedObject, revision: number, previous?: HistoryEntry): Record<string, string> {
  const own = w.metadata.annotations ?? {};
  if (w.kind !== 'Deployment') return own[CHANGE_CAUSE] ? { [CHANGE_CAUSE]: own[CHANGE_CAUSE] } : {};
  const copied = Object.fromEntries(Object.entries(own).filter(([k]) => !NOT_COPIED.some((re) => re.test(k))));
  const had = previous?.object.metadata.annotations?.[REVISION_HISTORY];
  const before = previous && previous.revision !== revision ? [had, String(previous.revision)].filter(Boolean).join(',') : had;
  return { ...copied, [DEPLOYMENT_REVISION]: String(revision), ...(before ? { [REVISION_HISTORY]: before } : {}) };
}

/**
 * The history object for the workload's current template at a revision number: a ReplicaSet for a
 * Deployment (its replicas the Deployment's; the federation has no ReplicaSet controller), a
 * ControllerRevision for the others, holding what `kubectl rollout undo` patches back.
 */
export function historyObject(w: FederatedObject, revision: number, previous?: HistoryEntry): FederatedObject {
  const hash = templateHash(templateOf(w));
  const template = structuredClone(templateOf(w) ?? {}) as Template & { metadata?: { labels?: Record<string, string> } };
  const tmplLabels = template.metadata?.labels ?? {};
  const annotations = historyAnnotations(w, revision, previous);
  const meta = {
    name: `${w.metadata.name}-${hash}`.slice(0, 253),
    namespace: w.metadata.namespace,
    ownerReferences: ownerRef(w),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  if (w.kind === 'Deployment') {
    const selector = structuredClone((w.spec?.selector as { matchLabels?: Record<string, string> } | undefined) ?? {});
    selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH]: hash };
    return {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { ...meta, labels: { ...tmplLabels, [POD_TEMPLATE_HASH]: hash, [HISTORY_LABEL]: w.metadata.name } },
      spec: {
        replicas: 0,
        selector,
        template: { ...template, metadata: { ...template.metadata, labels: { ...tmplLabels, [POD_TEMPLATE_HASH]: hash } } },
        ...(w.spec?.minReadySeconds !== undefined ? { minReadySeconds: w.spec.minReadySeconds } : {}),
      },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { ...meta, labels: { ...tmplLabels, [CONTROLLER_REVISION_HASH]: hash, [HISTORY_LABEL]: w.metadata.name } },
    // What kubectl's rollback patches onto the workload (a strategic merge that replaces the template).
    data: { spec: { template: { ...template, $patch: 'replace' } } },
    revision,
  };
}

export interface HistoryPlan {
  /** Create or update this history object (the current template's). */
  write?: FederatedObject;
  /** Delete these: beyond revisionHistoryLimit and run by no member. */
  prune: FederatedObject[];
  /** The current template's revision number. */
  revision: number;
}

/**
 * What the history needs for the workload's current template: its entry made (the next number), or
 * an older entry renumbered when the template returns to it (an undo), and the oldest pruned. `inUse`
 * are the hashes members still run: never pruned, since the stages may still send them.
 */
export function planHistory(w: FederatedObject, entries: HistoryEntry[], inUse: Set<string>): HistoryPlan {
  const hash = templateHash(templateOf(w));
  const max = entries.reduce((m, e) => Math.max(m, e.revision), 0);
  const current = entries.find((e) => e.hash === hash);
  let write: FederatedObject | undefined;
  let revision = current?.revision ?? max + 1;
  if (!current) write = historyObject(w, revision);
  else if (current.revision < max) {
    revision = max + 1;
    write = historyObject(w, revision, current);
  } else if (canonical(historyAnnotations(w, revision, current)) !== canonical(current.object.metadata.annotations ?? {})) {
    // The newest revision follows the workload's annotations (a change-cause written after the change).
    write = historyObject(w, revision, current);
  }
  const limit = typeof w.spec?.revisionHistoryLimit === 'number' ? w.spec.revisionHistoryLimit : 10;
  const old = entries.filter((e) => e.hash !== hash).sort((a, b) => b.revision - a.revision);
  const prune = old.slice(limit).filter((e) => !inUse.has(e.hash)).map((e) => e.object);
  return { ...(write ? { write } : {}), prune, revision };
}

/**
 * A Deployment's history ReplicaSet's status: the members' counts of the copies running its
 * revision (what `kubectl get rs` and helm's --wait read). A copy still rolling out in its member
 * has old pods among its ready ones: only those beyond the old ones count (never more than it has).
 */
export function replicaSetStatus(entry: HistoryEntry, copies: (FederatedObject | undefined)[]): Record<string, number> {
  const on = copies.filter((c): c is FederatedObject => c?.metadata.annotations?.[REVISION_ANNOTATION] === entry.hash);
  const n = (c: FederatedObject, f: string) => (typeof c.status?.[f] === 'number' ? c.status[f] : 0);
  const ready = (c: FederatedObject, f: string) => (rolledOut(c) ? n(c, f) : Math.max(0, n(c, f) - (n(c, 'replicas') - n(c, 'updatedReplicas'))));
  const sum = (f: (c: FederatedObject) => number) => on.reduce((s, c) => s + f(c), 0);
  return {
    replicas: sum((c) => n(c, 'updatedReplicas')),
    fullyLabeledReplicas: sum((c) => n(c, 'updatedReplicas')),
    readyReplicas: sum((c) => ready(c, 'readyReplicas')),
    availableReplicas: sum((c) => ready(c, 'availableReplicas')),
    observedGeneration: entry.object.metadata.generation ?? 1,
  };
}
