// Dispatch: makes one member's copy what the federation wants (server-side apply with our field
// manager), refuses to overwrite what is not ours unless asked to adopt it, reports drift only when
// someone else changed or deleted the copy, and removes copies a placement no longer selects. Each
// call returns an outcome; none throws.
import { FIELD_MANAGER, FEDERATION_LABEL } from '../../shared/constants.ts';
import { oneLine } from '../../shared/errors.ts';
import { ApiError, ConnectionError, isNotFound, type RestClient } from '../../shared/kube/rest.ts';
import { resourcePath } from '../../shared/kube/discovery.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { type FederatedObject, isSubset, memberCopy, olderVersion, projection } from '../../shared/propagation/copy.ts';
import { withMemberOwned } from '../../shared/propagation/drift.ts';
import { copyHealth } from '../../shared/propagation/rules.ts';
import type { EventRecorder } from '../events.ts';
import type { MemberRegistry } from '../members.ts';
import { memberWorkloadBinding, refusedByGuard } from '../../shared/manifests/member.ts';
import { objectKey } from '../runtime/reflector.ts';
import type { FederationObjects } from './federation-objects.ts';
import { isBlind, type MemberWatches } from './member-watches.ts';
import type { Overrides } from './overrides.ts';
import type { PulledCopies } from './pulled-copies.ts';
import { Rendering } from './rendering.ts';
import { type ClusterOutcome, DELETE_IN_BACKGROUND, describeMemberError, digestOf, type Kind } from './types.ts';

export interface DispatchOptions {
  members: MemberRegistry;
  watches: MemberWatches;
  objects: FederationObjects;
  overrides: Overrides;
  /** Pull members: their copies go to their agents (carriers), not to their API servers. */
  pulled: PulledCopies;
  events: EventRecorder;
  federationName: string;
  federationId: string;
  /** --member-pod-security: the level of member namespaces whose federation namespace names none. */
  podSecurity?: string;
  log: (line: string) => void;
}

/** What we last wrote to one member's copy. */
interface Written {
  /** Digest of the copy we asked for. */
  want: string;
  /** Digest of the member's answer at the paths we set: the copy as the member keeps our fields. */
  shape: string;
  resourceVersion?: string;
  /** The member's watch has shown our write (or a later version): a copy missing now was deleted. */
  seen: boolean;
  /** When it was written: a kind not watched (Secrets) is written again once this is old. */
  at: number;
}

/** How long a Secret written as wanted is taken to be so: it cannot be watched, so it is written again after this, at the next reconcile (a resync at the latest). */
const BLIND_REWRITE_MS = 60_000;

const ROLE_BINDINGS = { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', namespaced: true };

const apply = (client: RestClient, path: string, body: FederatedObject) =>
  client.request<FederatedObject>('PATCH', path, { body, contentType: 'application/apply-patch+yaml', query: { fieldManager: FIELD_MANAGER, force: true } });

export class Dispatcher {
  private readonly o: DispatchOptions;
  /** Keyed "cluster|Kind.group/namespace/name". */
  private readonly written = new Map<string, Written>();
  /** Member namespaces known to exist with our RoleBinding in them ("server|namespace"): one look per namespace, not per object. */
  private readonly memberNamespaces = new Set<string>();
  /** Secrets' copies known absent from a member ("cluster|key"): not deleted there again and again. */
  private readonly absent = new Set<string>();

  /** What each member gets beyond the copy (Overrides) and what drift means for it. */
  private readonly rendering: Rendering;

  constructor(o: DispatchOptions) {
    this.o = o;
    this.rendering = new Rendering({ overrides: o.overrides, members: o.members, objects: o.objects, events: o.events });
    o.watches.onStop((cluster) => {
      for (const k of [...this.written.keys()]) if (k.startsWith(`${cluster}|`)) this.written.delete(k);
    });
  }

  /** The object is gone from the federation: nothing of it is remembered. */
  forget(kind: Kind, objKey: string): void {
    for (const c of this.o.watches.clusters()) this.written.delete(`${c}|${kind.id}/${objKey}`);
    this.o.pulled.forget(`${kind.id}/${objKey}`);
  }

  copyFor(fed: FederatedObject, replicas: number | undefined, template?: Record<string, unknown>): FederatedObject {
    return memberCopy(fed, {
      ...(template ? { template } : {}),
      federationName: this.o.federationName,
      federationId: this.o.federationId,
      replicas,
      userSetNodePorts: this.o.objects.nodePortsSetByUser(fed),
      ...(this.o.podSecurity ? { podSecurity: this.o.podSecurity } : {}),
    });
  }

  /** A member not Ready within its grace period: its share is kept, its last-known copy not counted. */
  waiting(kind: Kind, fed: FederatedObject, cluster: string, replicas: number | undefined, until: number): ClusterOutcome {
    const copy = this.o.watches.copy(cluster, kind, objectKey(fed.metadata));
    const share = replicas !== undefined ? ` (${replicas} replicas)` : '';
    return {
      cluster,
      applied: false,
      healthy: false,
      current: false,
      reachable: false,
      waitsFor: 'member',
      keptUntil: new Date(until).toISOString(),
      ...(replicas !== undefined ? { replicas } : {}),
      ...(copy ? { copy } : {}),
      error: `cluster ${cluster} is not Ready: its share${share} is kept for it until ${new Date(until).toISOString()} (--rebalance-grace-period), then moves to the other members`,
    };
  }

  /**
   * Makes the member's copy what the federation wants; never throws (the outcome says what failed).
   * `template`: an older revision's pod template, for a member a staged rollout has not reached.
   */
  async sync(kind: Kind, fed: FederatedObject, cluster: string, replicas: number | undefined, template?: Record<string, unknown>): Promise<ClusterOutcome> {
    const what = `${fed.kind} ${objectKey(fed.metadata)}`;
    const objKey = objectKey(fed.metadata);
    const base = { cluster, ...(replicas !== undefined ? { replicas } : {}) };
    const lastKnown = this.o.watches.copy(cluster, kind, objKey);
    const failed = (error: string, extra: Partial<ClusterOutcome> = {}): ClusterOutcome => ({
      ...base,
      applied: false,
      healthy: false,
      current: false,
      reachable: false,
      ...(lastKnown ? { copy: lastKnown } : {}),
      error,
      ...extra,
    });
    if (this.o.pulled.isPull(cluster)) return this.syncPulled(kind, fed, cluster, replicas, template, base, failed);
    const watch = await this.o.watches.synced(cluster, kind);
    if ('message' in watch) return failed(watch.message, { waitsFor: watch.waitsFor === 'forbidden' ? 'retry' : watch.waitsFor });
    const client = await this.o.members.syncClient(cluster);
    if ('kind' in client) return failed(client.message);
    const key = `${cluster}|${kind.id}/${objKey}`;
    const rendered = await this.rendering.render(fed, this.copyFor(fed, replicas, template), cluster, key);
    if ('error' in rendered) return { ...failed(rendered.error), reachable: true, waitsFor: 'user', ...(lastKnown ? { copy: lastKnown } : {}) };
    const modes = this.rendering.driftModes(fed);
    if ('error' in modes) return { ...failed(modes.error), reachable: true, waitsFor: 'user' };
    const { overrides } = rendered;
    const withOverrides = overrides.length > 0 ? { overrides } : {};
    const existing = watch.reflector.items.get(objKey);
    // Fields left to the member: its values, so the apply keeps them and they never count as drift.
    const desired = withMemberOwned(rendered.copy, existing, modes.owned);
    const want = digestOf(desired);
    const last = this.written.get(key);
    const stale = existing !== undefined && last !== undefined && olderVersion(existing.metadata.resourceVersion, last.resourceVersion);
    if (existing && last && !stale) last.seen = true;
    const ours = existing !== undefined && last?.want === want && digestOf(projection(desired, existing)) === last.shape;
    if (existing && !stale && (ours || isSubset(desired, existing))) {
      this.rendering.forget(key);
      return { ...base, ...copyHealth(existing, true), copy: existing, current: true, reachable: true, ...withOverrides };
    }
    // Not watched: written as wanted a moment ago is taken as still so.
    if (watch.blind && last?.want === want && Date.now() - last.at < BLIND_REWRITE_MS) return { ...base, applied: true, healthy: true, current: true, reachable: true, ...withOverrides };
    // Drift: we want what we wrote before, and since then someone else changed or deleted the copy.
    const drift = last?.want !== want ? undefined : existing ? (stale ? undefined : 'changed') : last.seen ? 'deleted' : undefined;
    if (drift && modes.mode === 'Report') return this.rendering.reportDrift(fed, cluster, key, drift, desired, existing, { ...base, ...withOverrides });
    const path = resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name);
    try {
      let adopted = false;
      if (!existing) {
        // Not this federation's copy. An object the federation did not create is never taken over
        // unasked: the member's other objects of the kind are watched too (metadata only).
        const found = watch.foreign.items.get(objKey);
        if (found && fed.metadata.annotations?.[ANNOTATIONS.adopt] !== 'true') {
          return { ...failed(conflictMessage(what, cluster, found)), reachable: true, waitsFor: 'user' };
        }
        // A Secret cannot be adopted: the identity may neither read nor overwrite the member's own.
        if (watch.blind && fed.metadata.annotations?.[ANNOTATIONS.adopt] === 'true') {
          return {
            ...failed(`${what}: ${ANNOTATIONS.adopt} cannot take over a Secret in cluster ${cluster}: the federation's identity there may not read or overwrite Secrets it did not make; delete it in the member, and the federation's copy follows`),
            reachable: true,
            waitsFor: 'user',
          };
        }
        // Adopting a Namespace or a CRD would put everything in it under the federation, to be
        // deleted with it: never done by an annotation.
        if (found && (fed.kind === 'Namespace' || fed.kind === 'CustomResourceDefinition')) {
          return {
            ...failed(`${what} already exists in cluster ${cluster} and ${ANNOTATIONS.adopt} is refused for ${fed.kind}s: adopting it would hand everything in it to the federation, to be deleted with it; the objects inside propagate all the same, or delete it in the member`),
            reachable: true,
            waitsFor: 'user',
          };
        }
        if (kind.resource.namespaced && fed.metadata.namespace) await this.ensureMemberNamespace(client, cluster, fed.metadata.namespace);
        if (found) {
          await this.adopt(client, path, desired, found);
          adopted = true;
        }
      } else if (kind.resource.namespaced && fed.metadata.namespace) await this.ensureMemberNamespace(client, cluster, fed.metadata.namespace);
      const applied = await apply(client, path, desired);
      delete applied.metadata.managedFields;
      this.absent.delete(key);
      this.written.set(key, { want, shape: digestOf(projection(desired, applied)), ...(applied.metadata.resourceVersion ? { resourceVersion: applied.metadata.resourceVersion } : {}), seen: false, at: Date.now() });
      if (drift === 'changed') {
        await this.o.events.record(fed, 'Normal', 'DriftCorrected', `cluster ${cluster}: a change made in the member to ${what} was put back; change the federation's object instead`);
      } else if (drift === 'deleted') {
        await this.o.events.record(fed, 'Normal', 'DriftCorrected', `cluster ${cluster}: ${what} was deleted in the member and made again; delete the federation's object, or narrow its placement, to remove it there`);
      }
      if (adopted) await this.o.events.record(fed, 'Normal', 'Adopted', `cluster ${cluster}: the existing ${what} is now managed by the federation, as a fresh copy would be`);
      return { ...base, ...copyHealth(applied, true), copy: applied, current: true, reachable: true, ...withOverrides };
    } catch (err) {
      // The namespace went away in the member, or our RoleBinding in it did: look again next time.
      if ((isNotFound(err) || (err instanceof ApiError && err.status === 403)) && fed.metadata.namespace) this.memberNamespaces.delete(`${client.server}|${fed.metadata.namespace}`);
      if (watch.blind && err instanceof ApiError && refusedByGuard(err.message)) {
        // A Secret of that name the federation did not make: the member's policy kept it.
        return { ...failed(conflictMessage(what, cluster, { apiVersion: 'v1', kind: 'Secret', metadata: { name: fed.metadata.name } })), reachable: true, waitsFor: 'user' };
      }
      const { message, waitsFor } = describeMemberError(err, cluster, what, kind.resource.plural);
      return { ...failed(message), reachable: !(err instanceof ConnectionError), waitsFor, ...(existing ? { copy: existing } : {}) };
    }
  }

  /**
   * A pull member: the same rendering (overrides, replica share, an older revision's template) and
   * drift modes, left for its agent, which applies them with push's semantics and reports back.
   */
  private async syncPulled(
    kind: Kind,
    fed: FederatedObject,
    cluster: string,
    replicas: number | undefined,
    template: Record<string, unknown> | undefined,
    base: { cluster: string; replicas?: number },
    failed: (error: string, extra?: Partial<ClusterOutcome>) => ClusterOutcome,
  ): Promise<ClusterOutcome> {
    const key = `${kind.id}/${objectKey(fed.metadata)}`;
    const rendered = await this.rendering.render(fed, this.copyFor(fed, replicas, template), cluster, `${cluster}|${key}`);
    if ('error' in rendered) return { ...failed(rendered.error), reachable: true, waitsFor: 'user' };
    const modes = this.rendering.driftModes(fed);
    if ('error' in modes) return { ...failed(modes.error), reachable: true, waitsFor: 'user' };
    try {
      const outcome = await this.o.pulled.sync(cluster, key, rendered.copy, modes.mode, modes.owned, fed, base);
      return rendered.overrides.length > 0 ? { ...outcome, overrides: rendered.overrides } : outcome;
    } catch (err) {
      return failed(`cluster ${cluster}: cannot leave ${fed.kind} ${objectKey(fed.metadata)} for its agent: ${oneLine((err as Error).message)}`);
    }
  }

  /**
   * Adopting takes the whole object: it is replaced by what a fresh copy would be (keys the member's
   * object had and the federation's has not are gone), then applied as ours. A kind whose spec the
   * member will not replace (a bound claim) is taken over field by field instead.
   */
  private async adopt(client: RestClient, path: string, desired: FederatedObject, found: FederatedObject): Promise<void> {
    try {
      await client.request('PUT', path, {
        body: { ...desired, metadata: { ...desired.metadata, resourceVersion: found.metadata.resourceVersion } },
        query: { fieldManager: FIELD_MANAGER },
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 422)) throw err;
      this.o.log(`${desired.kind} ${objectKey(desired.metadata)}: the member refused to replace it whole (${err.message}); taking over the federation's fields only`);
    }
  }

  /**
   * A namespaced object's namespace in the member: created (labelled as this federation's) if
   * missing, and given the RoleBinding that lets the federation's identity write there (join's
   * workload role: the identity holds namespaced writes only where it propagates). Once per
   * namespace and member.
   */
  private async ensureMemberNamespace(client: RestClient, cluster: string, namespace: string): Promise<void> {
    const known = `${client.server}|${namespace}`;
    if (this.memberNamespaces.has(known)) return;
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
    if (!(await client.find(path))) {
      const fedNs = this.o.objects.namespaces.items.get(namespace) ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } };
      await apply(client, path, this.copyFor(fedNs, undefined));
    }
    // Our own service account (a member joined with a kubeconfig's credentials has all it needs).
    const account = this.o.members.serviceAccount(cluster);
    if (account) {
      const binding = memberWorkloadBinding({ federation: this.o.federationName, federationId: this.o.federationId, cluster, namespace: account.namespace }, namespace);
      try {
        await client.request('POST', resourcePath(ROLE_BINDINGS, namespace), { body: binding, query: { fieldManager: FIELD_MANAGER } });
      } catch (err) {
        // A member joined before the workload role existed holds its writes cluster-wide and may
        // not bind a role it lacks: its writes go on as before, and a re-join moves it over.
        if (err instanceof ApiError && err.status === 403) this.o.log(`cluster ${cluster}: cannot bind the workload role in namespace ${namespace} (${oneLine(err.message)}); join the cluster again to give the federation the bounded identity`);
        else if (!(err instanceof ApiError && err.status === 409)) throw err;
      }
    }
    this.memberNamespaces.add(known);
  }

  /** Copies in Ready members the placement no longer selects are removed (never in members not Ready). */
  async removeUnselected(kind: Kind, fed: FederatedObject, selected: string[]): Promise<void> {
    const objKey = objectKey(fed.metadata);
    for (const cluster of this.o.pulled.pullClusters()) {
      if (selected.includes(cluster) || !this.o.pulled.holds(cluster, `${kind.id}/${objKey}`)) continue;
      await this.o.pulled.remove(cluster, `${kind.id}/${objKey}`).catch((err: unknown) => this.o.log(`${fed.kind} ${objKey}: cannot take it from cluster ${cluster}: ${oneLine((err as Error).message)}`));
    }
    for (const cluster of this.o.watches.clusters()) {
      if (selected.includes(cluster) || !this.o.members.readiness(cluster).ready) continue;
      const memo = `${cluster}|${kind.id}/${objKey}`;
      // A Secret's copy cannot be seen: deleted by name unless known absent (the member's policy keeps any not ours).
      if (isBlind(kind) ? this.absent.has(memo) : !this.o.watches.copy(cluster, kind, objKey)) continue;
      const client = await this.o.members.syncClient(cluster);
      if ('kind' in client) continue;
      try {
        await client.request('DELETE', resourcePath(kind.resource, fed.metadata.namespace, fed.metadata.name), { body: DELETE_IN_BACKGROUND });
        this.written.delete(memo);
        this.o.log(`${fed.kind} ${objKey}: removed from cluster ${cluster}, which its placement no longer selects`);
      } catch (err) {
        if (isNotFound(err) || (err instanceof ApiError && refusedByGuard(err.message))) this.absent.add(memo);
        else this.o.log(describeMemberError(err, cluster, `deleting ${fed.kind} ${objKey}`, kind.resource.plural).message);
      }
    }
  }
}

/** The refusal to overwrite a member's object, naming the other federation when it is one's copy. */
function conflictMessage(what: string, cluster: string, found: FederatedObject): string {
  const labels = found.metadata.labels ?? {};
  const other = labels[PROPAGATED_BY_LABEL];
  const owner = other ? `is another federation's copy (${labels[FEDERATION_LABEL] ? `federation ${labels[FEDERATION_LABEL]}, ` : ''}id ${other})` : 'was not created by this federation';
  const take = other ? `annotate the federation's object ${ANNOTATIONS.adopt}=true to take it away from that federation` : `annotate the federation's object ${ANNOTATIONS.adopt}=true to take it over`;
  return `${what} already exists in cluster ${cluster} and ${owner}: ${take}, or delete it in the member`;
}
