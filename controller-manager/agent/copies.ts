// The agent's propagation: each carrier the controller manager left in this member's federation
// namespace is one rendered copy; it is applied here as push dispatch would apply it (server-side
// apply with our field manager, the member's values kept where it owns them, nothing taken over
// unasked, drift put back or reported), and what came of it goes back as a report. A carrier that
// goes takes its copy with it. Keys are carrier names; every watch only enqueues.
import { FEDERATION_LABEL, FIELD_MANAGER } from '../../shared/constants.ts';
import { errorMessage, oneLine } from '../../shared/errors.ts';
import { type ApiResource, discoverResources, resourcePath } from '../../shared/kube/discovery.ts';
import { ApiError, ConnectionError, isNotFound, type RestClient } from '../../shared/kube/rest.ts';
import { applyObject, DELETE_IN_BACKGROUND } from '../../shared/kube/apply.ts';
import { type MemberNames, memberWorkloadBinding, refusedByGuard } from '../../shared/manifests/member.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { type FederatedObject, isSubset } from '../../shared/propagation/copy.ts';
import { withMemberOwned } from '../../shared/propagation/drift.ts';
import { type Carrier, copyDigest, readCarrier, readReport, type Report, reportConfigMap, reportedCopy } from '../../shared/pull/carrier.ts';
import { CARRIER_LABEL, pullNamespace, REPORT_LABEL } from '../../shared/pull/names.ts';
import type { Enqueue, ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { objectKey, Reflector } from '../runtime/reflector.ts';

export interface AgentCopiesOptions {
  federation: RestClient;
  member: RestClient;
  names: MemberNames;
  enqueue: Enqueue;
  resyncMs: number;
  log: (line: string) => void;
}

interface Stored {
  metadata: { name: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

/** A kind's copies in the member: watched by our label, the writes' answers read against them. */
interface LocalWatch {
  reflector: Reflector<FederatedObject>;
  stop: AbortController;
}

const isSecrets = (r: Pick<ApiResource, 'group' | 'plural'>) => r.group === '' && r.plural === 'secrets';
/** How long a Secret applied as wanted is taken to be so (the identity may not read Secrets). */
const BLIND_REWRITE_MS = 60_000;

export class AgentCopies implements Reconciler {
  readonly name = 'copies';
  private readonly o: AgentCopiesOptions;
  readonly carriers: Reflector<Stored>;
  readonly reports: Reflector<Stored>;
  private resources: ApiResource[] = [];
  private readonly watches = new Map<string, LocalWatch>();
  /** Carrier name by "apiVersion/kind/ns/name" of its copy: a change in the member wakes its carrier. */
  private readonly byCopy = new Map<string, string>();
  /** What we last applied per carrier: a copy missing or changed after it is drift. */
  private readonly applied = new Map<string, { want: string; at: number }>();
  private readonly stop = new AbortController();

  constructor(o: AgentCopiesOptions) {
    this.o = o;
    const ns = pullNamespace(o.names.cluster);
    this.carriers = new Reflector<Stored>(o.federation, `/api/v1/namespaces/${ns}/secrets`, (_t, s) => o.enqueue(s.metadata.name), { labelSelector: `${CARRIER_LABEL}=true`, log: o.log });
    // A report whose carrier is gone (deleted while this agent was away) is found on the first list.
    this.reports = new Reflector<Stored>(o.federation, `/api/v1/namespaces/${ns}/configmaps`, (t, r) => t === 'ADDED' && o.enqueue(r.metadata.name), { labelSelector: `${REPORT_LABEL}=true`, log: o.log });
  }

  run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop.abort(), { once: true });
    return Promise.all([this.carriers.run(signal), this.reports.run(signal)]).then(() => undefined);
  }

  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all([this.carriers.waitForSync(signal), this.reports.waitForSync(signal)]);
  }

  async reconcile(name: string): Promise<ReconcileResult | void> {
    const ns = pullNamespace(this.o.names.cluster);
    const stored = this.carriers.items.get(`${ns}/${name}`);
    const carrier = stored ? readCarrier(stored) : undefined;
    const previous = this.reports.items.get(`${ns}/${name}`);
    if (!carrier) return this.takeAway(name, previous);
    const report = await this.applyCopy(name, carrier);
    await this.writeReport(carrier.key, report, previous);
    if (report.waitsFor === 'soon') return { requeueAfterMs: 2000 };
    if (report.error && report.waitsFor !== 'user') throw new Error(report.error);
    return { requeueAfterMs: report.error ? 30_000 : this.o.resyncMs };
  }

  /** The carrier went: the copy goes (as the federation's deletion would delete it), then its report. */
  private async takeAway(name: string, previous: Stored | undefined): Promise<void> {
    const report = previous ? readReport(previous) : undefined;
    const copy = report?.copy;
    if (copy) {
      const resource = await this.resource(copy);
      if (resource) {
        try {
          const path = resourcePath(resource, copy.metadata.namespace, copy.metadata.name);
          // Only this federation's copy, never an object of the same name someone else made since.
          const found = isSecrets(resource) ? copy : await this.o.member.find<FederatedObject>(path);
          if (found && (isSecrets(resource) || found.metadata.labels?.[PROPAGATED_BY_LABEL] === this.o.names.federationId)) {
            await this.o.member.request('DELETE', path, { body: DELETE_IN_BACKGROUND });
            this.o.log(`${copy.kind} ${objectKey(copy.metadata)}: deleted (the federation no longer places it here)`);
          }
        } catch (err) {
          if (!isNotFound(err) && !(err instanceof ApiError && refusedByGuard(err.message))) throw err;
        }
      }
    }
    this.applied.delete(name);
    if (previous) {
      try {
        await this.o.federation.request('DELETE', `/api/v1/namespaces/${pullNamespace(this.o.names.cluster)}/configmaps/${name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async applyCopy(name: string, c: Carrier): Promise<Report> {
    const want = copyDigest(c.copy);
    const what = `${c.copy.kind} ${objectKey(c.copy.metadata)}`;
    const cluster = this.o.names.cluster;
    const resource = await this.resource(c.copy);
    if (!resource) return { want, current: false, error: `cluster ${cluster} does not serve ${c.copy.kind} (${c.copy.apiVersion}) yet: it follows once its CustomResourceDefinition is there`, waitsFor: 'soon' };
    this.byCopy.set(copyKey(c.copy), name);
    const path = resourcePath(resource, c.copy.metadata.namespace, c.copy.metadata.name);
    const blind = isSecrets(resource);
    const last = this.applied.get(name);
    let existing: FederatedObject | undefined;
    if (!blind) {
      const watch = await this.watch(resource);
      if (!watch.reflector.synced) return { want, current: false, error: `cannot list ${resource.plural} in cluster ${cluster} yet`, waitsFor: 'retry' };
      existing = watch.reflector.items.get(objectKey(c.copy.metadata));
    } else if (last?.want === want && Date.now() - last.at < BLIND_REWRITE_MS) {
      return { want, current: true };
    }
    let desired = withMemberOwned(c.copy, existing, c.owned);
    if (existing && isSubset(desired, existing)) return { want, current: true, copy: reportedCopy(existing) };
    // Drift: we applied this copy before, and since then someone changed or deleted it here. The
    // watch's cache may lag behind our own write (a retry soon after it, a watch being re-listed):
    // the member itself is asked before anything is called drift.
    if (!blind && last?.want === want) {
      existing = await this.o.member.find<FederatedObject>(path);
      desired = withMemberOwned(c.copy, existing, c.owned);
      if (existing && isSubset(desired, existing)) return { want, current: true, copy: reportedCopy(existing) };
    }
    const drift = !blind && last?.want === want ? (existing ? 'changed' : 'deleted') : undefined;
    if (drift && c.mode === 'Report') {
      const message = drift === 'deleted' ? `cluster ${cluster}: ${what} was deleted in the member; not made again (${ANNOTATIONS.drift}: Report)` : `cluster ${cluster}: ${what} differs in the member; left as it is (${ANNOTATIONS.drift}: Report; remove it to have the federation's values put back)`;
      return { want, current: false, drift, error: message, waitsFor: 'user', ...(existing ? { copy: reportedCopy(existing) } : {}) };
    }
    try {
      let adopted = false;
      if (!existing && !blind) {
        // Not ours: never taken over unasked.
        const found = await this.o.member.find<FederatedObject>(path);
        if (found && found.metadata.labels?.[PROPAGATED_BY_LABEL] !== this.o.names.federationId) {
          if (c.copy.metadata.annotations?.[ANNOTATIONS.adopt] !== 'true' || c.copy.kind === 'Namespace' || c.copy.kind === 'CustomResourceDefinition') {
            return { want, current: false, waitsFor: 'user', error: `${what} already exists in cluster ${cluster} and was not created by this federation: annotate the federation's object ${ANNOTATIONS.adopt}=true to take it over, or delete it in the member` };
          }
          await this.o.member.request('PUT', path, { body: { ...desired, metadata: { ...desired.metadata, resourceVersion: found.metadata.resourceVersion } }, query: { fieldManager: FIELD_MANAGER } });
          adopted = true;
        }
      }
      if (resource.namespaced && c.copy.metadata.namespace) await this.ensureNamespace(c.copy.metadata.namespace, c.copy);
      const applied = await this.o.member.request<FederatedObject>('PATCH', path, { body: desired, contentType: 'application/apply-patch+yaml', query: { fieldManager: FIELD_MANAGER, force: true } });
      this.applied.set(name, { want, at: Date.now() });
      if (drift) this.o.log(`${what}: ${drift === 'deleted' ? 'deleted' : 'changed'} in the member; put back`);
      return { want, current: true, copy: reportedCopy(blind ? { apiVersion: c.copy.apiVersion, kind: c.copy.kind, metadata: { name: c.copy.metadata.name, ...(c.copy.metadata.namespace ? { namespace: c.copy.metadata.namespace } : {}) } } : applied), ...(drift ? { drift } : {}), ...(adopted ? { adopted } : {}) };
    } catch (err) {
      if (err instanceof ApiError && refusedByGuard(err.message)) {
        return { want, current: false, waitsFor: 'user', error: `${what} already exists in cluster ${cluster} and was not created by this federation, or the bounds join sets refuse it: ${oneLine(err.message)}` };
      }
      if (err instanceof ApiError && err.status === 403 && /being terminated/.test(err.message)) return { want, current: false, waitsFor: 'soon', error: `cluster ${cluster}: its namespace is being deleted there; ${what} is made again once it is gone` };
      if (err instanceof ConnectionError) return { want, current: false, error: `cluster ${cluster}: its API server did not answer: ${err.reason}` };
      return { want, current: false, error: `cluster ${cluster} refused ${what}: ${oneLine(errorMessage(err))}` };
    }
  }

  /** The namespace a copy goes to: made here if missing (as the federation's), with our identity's writes bound in it. */
  private async ensureNamespace(namespace: string, copy: FederatedObject): Promise<void> {
    if (!(await this.o.member.find(`/api/v1/namespaces/${encodeURIComponent(namespace)}`))) {
      const labels = Object.fromEntries(Object.entries(copy.metadata.labels ?? {}).filter(([k]) => k === PROPAGATED_BY_LABEL || k === FEDERATION_LABEL));
      await applyObject(this.o.member, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } });
    }
    try {
      await this.o.member.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/rolebindings`, { body: memberWorkloadBinding(this.o.names, namespace), query: { fieldManager: FIELD_MANAGER } });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) throw err;
    }
  }

  /** A report is written only when it says something new. */
  private async writeReport(key: string, report: Report, previous: Stored | undefined): Promise<void> {
    const text = JSON.stringify(report);
    if (previous?.data?.report === text) return;
    await applyObject(this.o.federation, reportConfigMap(this.o.names.cluster, key, report));
  }

  /** The member's resource for a copy, discovered again when not known (a CRD that just arrived). */
  private async resource(copy: FederatedObject): Promise<ApiResource | undefined> {
    const find = () => this.resources.find((r) => (r.group ? `${r.group}/${r.version}` : r.version) === copy.apiVersion && r.kind === copy.kind);
    if (!find()) this.resources = await discoverResources(this.o.member);
    return find();
  }

  private async watch(resource: ApiResource): Promise<LocalWatch> {
    const id = `${resource.group}/${resource.plural}`;
    const known = this.watches.get(id);
    if (known) return known;
    const stop = new AbortController();
    this.stop.signal.addEventListener('abort', () => stop.abort(), { once: true });
    const reflector = new Reflector<FederatedObject>(
      this.o.member,
      resourcePath(resource),
      (_t, obj) => {
        const carrier = this.byCopy.get(copyKey(obj));
        if (carrier) this.o.enqueue(carrier);
      },
      { labelSelector: `${PROPAGATED_BY_LABEL}=${this.o.names.federationId}`, log: this.o.log },
    );
    const watch = { reflector, stop };
    this.watches.set(id, watch);
    void reflector.run(stop.signal);
    await reflector.waitForSync(AbortSignal.any([stop.signal, AbortSignal.timeout(5000)]));
    return watch;
  }
}

const copyKey = (o: FederatedObject): string => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
