// What the propagation controller's units share: a propagated kind and its federation watch, one
// member's outcome of a sync, names and digests, and the one wording of a member's refusal.
import { createHash } from 'node:crypto';
import { FIELD_MANAGER } from '../../shared/constants.ts';
import { errorMessage, oneLine } from '../../shared/errors.ts';
import type { ApiResource } from '../../shared/kube/discovery.ts';
import { refusedByGuard } from '../../shared/manifests/member.ts';
import { ApiError, ConnectionError } from '../../shared/kube/rest.ts';
import type { PropagationClusterStatus } from '../../shared/manifests/federation-api.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { canonical } from '../../shared/propagation/status.ts';
import type { Reflector } from '../runtime/reflector.ts';

export interface Kind {
  id: string;
  resource: ApiResource;
  fed: Reflector<FederatedObject>;
}

/** What the failure of one member asks of us. */
export type WaitsFor =
  /** Back off and try again (the default). */
  | 'retry'
  /** A conflict: reported, then looked at again every little while. */
  | 'user'
  /** A member not Ready: nothing to report; its return or the grace period's end re-queues. */
  | 'member'
  /**
   * Something in the member that comes by itself soon (its namespace still terminating, a CRD not
   * yet served): looked at again in a couple of seconds, without a Warning and without back-off.
   */
  | 'soon';

export interface ClusterOutcome extends PropagationClusterStatus {
  copy?: FederatedObject;
  /** The copy holds what the federation wants now (the apply went through). */
  current: boolean;
  /** The member answered now: its copy's counts are current, not last-known. */
  reachable: boolean;
  waitsFor?: WaitsFor;
}

/** A member a staged rollout has not reached, with no copy to send it yet. */
export function heldOutcome(cluster: string, why: string, replicas: number | undefined, copy: FederatedObject | undefined): ClusterOutcome {
  return { cluster, applied: false, healthy: false, current: false, reachable: true, waiting: why, ...(replicas !== undefined ? { replicas } : {}), ...(copy ? { copy } : {}) };
}

/** Who adds and removes the finalizer and writes records: apart from the copies' field manager. */
export const CONTROLLER_MANAGER_FIELD_MANAGER = `${FIELD_MANAGER}-controller-manager`;
/** Where the records of cluster-scoped objects live. */
export const RECORDS_NAMESPACE = 'default';
export { DELETE_IN_BACKGROUND } from '../../shared/kube/apply.ts';

export const kindId = (r: Pick<ApiResource, 'kind' | 'group'>): string => (r.group ? `${r.kind}.${r.group}` : r.kind);

/** The record's name: "deployment.apps.web", "configmap.settings". */
export function recordName(r: Pick<ApiResource, 'kind' | 'group'>, name: string): string {
  const full = `${kindId(r).toLowerCase()}.${name}`;
  // Names a record cannot carry as they are (a ClusterRole "team:view", upper case): made valid, with
  // a digest of the real name so two such names never share a record.
  const valid = full.replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  const suffix = valid !== full ? `.${createHash('sha1').update(full).digest('hex').slice(0, 8)}` : '';
  const fits = valid.length + suffix.length <= 253 ? valid : `${valid.slice(0, 240 - suffix.length)}.${createHash('sha1').update(full).digest('hex').slice(0, 12)}`;
  return `${fits}${suffix}`;
}

/** A short digest of a value's canonical JSON: what was applied or written, remembered cheaply. */
export const digestOf = (v: unknown): string => createHash('sha1').update(canonical(v)).digest('base64');

/** Splits a queue key "Kind.group/namespace/name" into the kind's id and the object's key. */
export function splitKey(key: string): { id: string; objKey: string } {
  const slash = key.indexOf('/');
  return { id: key.slice(0, slash), objKey: key.slice(slash + 1) };
}

/** A member's answer that says the kind is not served there (yet): its CRD has not arrived. */
export const kindNotServed = (err: unknown): boolean =>
  err instanceof ApiError && err.status === 404 && /could not find the requested resource|page not found/i.test(err.message);

/** A member's RBAC refusing a role or binding that grants more than the member identity holds. */
const escalation = (err: ApiError): boolean => /attempting to grant RBAC permissions not currently held|is attempting to grant|escalat/i.test(err.message);

/** One line with the fix, for a failed write in a member, and what the failure asks of us. */
export function describeMemberError(err: unknown, cluster: string, what: string, plural: string): { message: string; waitsFor: WaitsFor } {
  if (err instanceof ConnectionError) return { message: `cannot reach cluster ${cluster}: ${err.reason}`, waitsFor: 'retry' };
  if (err instanceof ApiError && err.status === 403 && /being terminated/.test(err.message)) {
    return { message: `cluster ${cluster}: its namespace is being deleted there; ${what} is made again once it is gone`, waitsFor: 'soon' };
  }
  // The admission policy join installs for the federation's identity: its message says what it refused.
  if (err instanceof ApiError && refusedByGuard(err.message)) {
    const said = /denied request: (.*)$/.exec(oneLine(err.message))?.[1] ?? oneLine(err.message);
    return { message: `cluster ${cluster} refused ${what}: ${said} (the bounds join sets for the federation there)`, waitsFor: 'user' };
  }
  if (err instanceof ApiError && err.status === 403 && escalation(err)) {
    return {
      message: `cluster ${cluster} refused ${what}: it grants permissions the federation's identity in that cluster does not hold itself (Kubernetes' escalation check); grant them to the identity in the member, or leave them out of the role`,
      waitsFor: 'retry',
    };
  }
  if (err instanceof ApiError && err.status === 403) {
    return {
      message: `cluster ${cluster} forbids the federation to write ${plural}: join it again so that its role covers the propagated kinds (kubectl federation join ${cluster} --propagated-kinds=...)`,
      waitsFor: 'retry',
    };
  }
  // A binding that reached the member before its role: the member's escalation check cannot resolve
  // the role yet (worded "... \"NAME\" not found"); the role follows within moments.
  if (err instanceof ApiError && /Binding$/.test(what.split(' ')[0] ?? '') && /rbac\.authorization\.k8s\.io "[^"]+" not found/.test(err.message)) {
    return { message: `cluster ${cluster} refused ${what} until the role it binds is there: ${oneLine(err.message)}`, waitsFor: 'soon' };
  }
  if (kindNotServed(err)) return { message: `cluster ${cluster} does not serve ${plural} yet: ${what} follows once its CustomResourceDefinition is there`, waitsFor: 'soon' };
  if (err instanceof ApiError) return { message: `cluster ${cluster} refused ${what}: ${oneLine(err.message)}`, waitsFor: 'retry' };
  return { message: `cluster ${cluster}: ${errorMessage(err)}`, waitsFor: 'retry' };
}
