// From the federation's object to the copy a member gets: everything the user wrote, less what the
// federation's API server or a member assigns (status, identity, cluster IPs, node ports it
// allocated, a Job's generated selector), plus the labels that mark the copy as this federation's.
import { FEDERATION_LABEL } from '../constants.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from './annotations.ts';
import { hasRevisions, REVISION_ANNOTATION, templateHash } from './revisions.ts';

const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';

export interface FederatedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CopyOptions {
  federationName: string;
  federationId: string;
  /** This member's replicas; undefined leaves spec.replicas out (a member HPA owns it). */
  replicas?: number;
  /** The federation's API server allocated no node ports this object's user did not set. */
  userSetNodePorts: boolean;
  /**
   * The Pod Security level a member's namespace enforces when the federation's namespace names
   * none (undefined: the member's own default, often privileged).
   */
  podSecurity?: string;
  /**
   * A workload's pod template to send instead of the federation's own: the revision a member keeps
   * while a staged rollout has not reached its stage.
   */
  template?: Record<string, unknown>;
}

/** Annotations that belong to the federation's copy only. */
const DROPPED_ANNOTATIONS = [/^kubectl\.kubernetes\.io\/last-applied-configuration$/, /^deployment\.kubernetes\.io\//, /^pv\.kubernetes\.io\//, /^volume\.(beta\.)?kubernetes\.io\//];
const OURS = new Set<string>(Object.values(ANNOTATIONS));
const JOB_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'];

const clone = <T>(v: T): T => structuredClone(v);

export function memberCopy(fed: FederatedObject, o: CopyOptions): FederatedObject {
  // The revision of the template the copy gets, from the source object (its hash is kept per object).
  const template = o.template ?? (fed.spec?.template as Record<string, unknown> | undefined);
  const revision = hasRevisions(fed.kind) ? templateHash(template) : undefined;
  // Status is never copied: not cloned either.
  const withoutStatus = { ...fed };
  delete withoutStatus.status;
  const { metadata, ...rest } = clone(withoutStatus);
  const annotations = Object.fromEntries(
    Object.entries(metadata.annotations ?? {}).filter(([k]) => !OURS.has(k) && !DROPPED_ANNOTATIONS.some((re) => re.test(k))),
  );
  const copy: FederatedObject = {
    ...rest,
    metadata: {
      name: metadata.name,
      ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
      labels: { ...metadata.labels, [FEDERATION_LABEL]: o.federationName, [PROPAGATED_BY_LABEL]: o.federationId },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
  };
  const spec = copy.spec;
  switch (fed.kind) {
    case 'Namespace':
      // Its finalizers are the member's own.
      delete copy.spec;
      // A tenant's privileged pod written in the federation is refused in the member as it would
      // be here: the namespace's own level, else the federation's default.
      if (o.podSecurity && !copy.metadata.labels?.[POD_SECURITY_ENFORCE]) copy.metadata.labels = { ...copy.metadata.labels, [POD_SECURITY_ENFORCE]: o.podSecurity };
      break;
    case 'ServiceAccount':
      delete copy.secrets;
      break;
    case 'Service': {
      if (!spec) break;
      if (spec.clusterIP !== 'None') delete spec.clusterIP;
      delete spec.clusterIPs;
      delete spec.ipFamilies;
      if (spec.ipFamilyPolicy === 'SingleStack') delete spec.ipFamilyPolicy;
      delete spec.healthCheckNodePort;
      if (!o.userSetNodePorts) for (const p of (spec.ports as { nodePort?: number }[] | undefined) ?? []) delete p.nodePort;
      break;
    }
    case 'Job': {
      if (!spec || spec.manualSelector === true) break;
      delete spec.selector;
      const labels = (spec.template as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata?.labels;
      for (const l of JOB_LABELS) delete labels?.[l];
      break;
    }
    case 'PersistentVolumeClaim':
      delete spec?.volumeName;
      break;
  }
  if (spec && hasReplicas(fed.kind)) {
    if (o.replicas === undefined) delete spec.replicas;
    else spec.replicas = o.replicas;
  }
  // The revision the copy runs, on the copy itself: where a staged rollout stands is read back from
  // the members, so it survives a restart of the controller manager.
  if (spec && revision !== undefined) {
    if (o.template) spec.template = clone(o.template);
    copy.metadata.annotations = { ...copy.metadata.annotations, [REVISION_ANNOTATION]: revision };
  }
  return copy;
}

/** Kinds whose spec.replicas the federation divides among members. */
export const hasReplicas = (kind: string): boolean => kind === 'Deployment' || kind === 'StatefulSet' || kind === 'ReplicaSet';

/**
 * True when every field of want is in got with the same value (got may have more: defaults, and
 * what the member's controllers add). Lists must be as long, item by item.
 */
export function isSubset(want: unknown, got: unknown): boolean {
  if (want === got) return true;
  if (Array.isArray(want)) {
    return Array.isArray(got) && want.length === got.length && want.every((w, i) => isSubset(w, got[i]));
  }
  if (want !== null && typeof want === 'object') {
    // An empty map the server did not keep ("resources: {}") is no difference.
    if (got === undefined && Object.keys(want).length === 0) return true;
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return false;
    const g = got as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => isSubset(v, g[k]));
  }
  return false;
}

/**
 * The part of got at the paths want has: what a member's copy holds of the fields the federation
 * sets, as the member's API server wrote them down (defaults and normalised quantities included),
 * so two looks at a copy compare only what is the federation's.
 */
export function projection(want: unknown, got: unknown): unknown {
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length ? want.map((w, i) => projection(w, got[i])) : got;
  if (want !== null && typeof want === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return got;
    const g = got as Record<string, unknown>;
    return Object.fromEntries(Object.keys(want as Record<string, unknown>).map((k) => [k, projection((want as Record<string, unknown>)[k], g[k])]));
  }
  return got;
}

/**
 * a is an older resourceVersion than b. Versions are opaque to clients in general; every API server
 * here keeps them in etcd, where they are revisions that only grow, so a cache that is behind our
 * own write can be told from a change made after it. Not comparable: not older.
 */
export function olderVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}
