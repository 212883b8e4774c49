// The federation's side of propagation: one watch per propagated kind (and of namespaces, always),
// what the caches keep of an object, and which keys a change enqueues: the object, its namespace
// (it goes wherever anything inside goes), everything in a namespace whose selector changed, and
// the workload an autoscaler scales.
import { type ApiResource, apiVersionOf, discoverResources, findResource, resourcePath } from '../../shared/kube/discovery.ts';
import { errorMessage } from '../../shared/errors.ts';
import type { RestClient } from '../../shared/kube/rest.ts';
import { ANNOTATIONS } from '../../shared/propagation/annotations.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { resolveKinds } from '../../shared/propagation/kinds.ts';
import { isAutoscaler, scales, scaleTarget } from '../../shared/propagation/rules.ts';
import { type Enqueue, retryUntilAnswered } from '../runtime/controller.ts';
import { isWorkload, references } from '../../shared/propagation/dependencies.ts';
import { type ChangeType, objectKey, Reflector } from '../runtime/reflector.ts';
import { type Kind, kindId, splitKey } from './types.ts';

export interface FederationObjectsOptions {
  federation: RestClient;
  /** The kinds to propagate, as users write them (--propagated-kinds). */
  kinds: string[];
  enqueue: Enqueue;
  log: (line: string) => void;
}

/** Field managers of a cluster's own components: what only they wrote, no user wrote. */
const CLUSTER_COMPONENTS = new Set(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);

const selectorOf = (o: FederatedObject | undefined) => o?.metadata.annotations?.[ANNOTATIONS.clusterSelector];

export class FederationObjects {
  readonly kinds = new Map<string, Kind>();
  namespaces!: Reflector<FederatedObject>;
  private readonly o: FederationObjectsOptions;
  /** Services whose node ports a user set (the federation's API server allocates the others). */
  private readonly userNodePorts = new Set<string>();
  /** Objects the cluster's components made for themselves (bootstrap roles, their accounts): nobody to tell. */
  private readonly serverMade = new Set<string>();
  /** Every resource the federation served at the last look (preferred versions first). */
  private served: { at: number; list: ApiResource[] } = { at: 0, list: [] };
  /** Words of --propagated-kinds the federation did not serve at the last look: its CRD may come later. */
  private unknown: string[] = [];
  private readonly runs: Promise<void>[] = [];
  private signal?: AbortSignal;
  private refreshing?: NodeJS.Timeout;

  constructor(o: FederationObjectsOptions) {
    this.o = o;
  }

  /** Resolves the kinds through discovery and starts the watches; undefined when the signal aborted first. */
  async start(signal: AbortSignal): Promise<{ done: Promise<void> } | undefined> {
    const resources = await retryUntilAnswered('discovery of the federation API', () => discoverResources(this.o.federation), signal, this.o.log);
    if (!resources) return undefined;
    this.signal = signal;
    this.served = { at: Date.now(), list: resources };
    const namespaceResource = resources.find((r) => r.group === '' && r.kind === 'Namespace')!;
    this.watchKinds(this.o.kinds, resources);
    // Namespaces are watched even when not propagated: their selectors, and their finalization.
    if (!this.kinds.has('Namespace')) {
      this.namespaces = this.reflectorFor(namespaceResource);
      this.runs.push(this.namespaces.run(signal));
    }
    for (const word of this.unknown) {
      this.o.log(`--propagated-kinds: the federation serves no kind "${word}" yet (write e.g. Deployment.apps, or the plural of a custom resource with its group: widgets.example.com); it is propagated once its CustomResourceDefinition is there`);
    }
    this.o.log(`propagating ${[...this.kinds.keys()].join(', ')}`);
    // Kinds that are not served yet are looked for again every minute, and when a CRD changes.
    const timer = setInterval(() => void this.refresh(), 60_000);
    timer.unref();
    const done = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })).then(async () => {
      clearInterval(timer);
      clearTimeout(this.refreshing);
      await Promise.all(this.runs);
    });
    return { done };
  }

  /** Starts the watch of every word that resolves and is not watched yet; the rest stay unknown. */
  private watchKinds(words: string[], resources: ApiResource[]): ApiResource[] {
    const { found, unknown } = resolveKinds(words, resources);
    this.unknown = unknown;
    const started: ApiResource[] = [];
    for (const r of found) {
      if (this.kinds.has(kindId(r))) continue;
      if (!r.verbs.includes('watch') || !r.verbs.includes('list')) {
        this.o.log(`--propagated-kinds: ${kindId(r)} cannot be watched; it is not propagated`);
        continue;
      }
      const reflector = this.reflectorFor(r);
      this.kinds.set(kindId(r), { id: kindId(r), resource: r, fed: reflector });
      if (r.group === '' && r.kind === 'Namespace') this.namespaces = reflector;
      this.runs.push(reflector.run(this.signal!));
      started.push(r);
    }
    return started;
  }

  /** Looks again for kinds the federation did not serve: a CRD of the federation was added or changed. */
  private async refresh(): Promise<void> {
    if (this.unknown.length === 0 || !this.signal || this.signal.aborted) return;
    try {
      this.served = { at: Date.now(), list: await discoverResources(this.o.federation) };
    } catch (err) {
      this.o.log(`discovery of the federation API failed: ${errorMessage(err)}`);
      return;
    }
    for (const r of this.watchKinds(this.unknown, this.served.list)) this.o.log(`propagating ${kindId(r)} too: the federation serves it now`);
  }

  /** A CRD changed: its kind may be served now (a second later, once it is established). */
  private refreshSoon(): void {
    if (this.unknown.length === 0) return;
    clearTimeout(this.refreshing);
    this.refreshing = setTimeout(() => void this.refresh(), 1000);
  }

  private reflectorFor(r: ApiResource): Reflector<FederatedObject> {
    const id = kindId(r);
    return new Reflector<FederatedObject>(this.o.federation, resourcePath(r), (t, obj, old) => this.changed(id, t, obj, old), {
      log: this.o.log,
      transform: (obj) => this.keep(r, obj),
    });
  }

  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all([...[...this.kinds.values()].map((k) => k.fed.waitForSync(signal)), this.namespaces.waitForSync(signal)]);
  }

  /** What the caches keep of an object: its kind (list items come without), less managedFields. */
  keep(r: ApiResource, obj: FederatedObject): FederatedObject {
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    // Who set a Service's node ports tells user-chosen ones from those the federation allocated.
    if (r.kind === 'Service' && obj.metadata.uid && JSON.stringify(obj.metadata.managedFields ?? []).includes('"f:nodePort"')) {
      this.userNodePorts.add(obj.metadata.uid);
    }
    const managers = ((obj.metadata.managedFields ?? []) as { manager?: string }[]).map((f) => f.manager);
    if (obj.metadata.uid && managers.every((m) => m !== undefined && CLUSTER_COMPONENTS.has(m))) this.serverMade.add(obj.metadata.uid);
    delete obj.metadata.managedFields;
    return obj;
  }

  madeByServer(obj: FederatedObject): boolean {
    return obj.metadata.uid !== undefined && this.serverMade.has(obj.metadata.uid);
  }

  nodePortsSetByUser(obj: FederatedObject): boolean {
    return obj.metadata.uid !== undefined && this.userNodePorts.has(obj.metadata.uid);
  }

  /** Which workloads use each dependency ("ns/Kind/name" -> "Kind.group/ns/name"), kept as the watches change. */
  private readonly users = new Map<string, Set<string>>();

  /** Updates the index for a workload's change; returns what it used before and uses now. */
  private indexUsers(id: string, type: ChangeType, obj: FederatedObject, old: FederatedObject | undefined): Set<string> {
    const ns = obj.metadata.namespace;
    if (!isWorkload(obj.kind) || !ns) return new Set();
    const key = `${id}/${objectKey(obj.metadata)}`;
    const before = old ? references(old) : [];
    const after = type === 'DELETED' ? [] : references(obj);
    for (const r of before) {
      const set = this.users.get(`${ns}/${r}`);
      set?.delete(key);
      if (set?.size === 0) this.users.delete(`${ns}/${r}`);
    }
    for (const r of after) {
      const set = this.users.get(`${ns}/${r}`) ?? new Set<string>();
      this.users.set(`${ns}/${r}`, set.add(key));
    }
    return new Set([...before, ...after]);
  }

  /** The workloads that use a dependency (a ConfigMap, Secret, ServiceAccount or PVC), as cached now. */
  *usersOf(dep: FederatedObject): Generator<{ kind: Kind; obj: FederatedObject }> {
    for (const key of this.users.get(`${dep.metadata.namespace}/${dep.kind}/${dep.metadata.name}`) ?? []) {
      const { id, objKey } = splitKey(key);
      const kind = this.kinds.get(id);
      const obj = kind?.fed.items.get(objKey);
      if (kind && obj) yield { kind, obj };
    }
  }

  private changed(id: string, type: ChangeType, obj: FederatedObject, old: FederatedObject | undefined): void {
    this.o.enqueue(`${id}/${objectKey(obj.metadata)}`);
    // A namespace goes wherever anything in it goes: its placement may change with this object's.
    if (obj.metadata.namespace && (!old || type === 'DELETED' || selectorOf(old) !== selectorOf(obj))) this.o.enqueue(`Namespace/${obj.metadata.namespace}`);
    // A namespace's selector steers everything in it.
    if (id === 'Namespace' && old && selectorOf(old) !== selectorOf(obj)) this.enqueueInside(obj.metadata.name);
    if (id === 'CustomResourceDefinition.apiextensions.k8s.io') this.refreshSoon();
    // The dependencies a workload uses (before and after the change) follow it.
    for (const ref of this.indexUsers(id, type, obj, old)) {
      const [depKind, name] = ref.split('/');
      if (this.kinds.has(depKind!)) this.o.enqueue(`${depKind}/${obj.metadata.namespace}/${name}`);
    }
    if (isAutoscaler(obj.kind)) {
      const target = scaleTarget(obj);
      for (const k of this.kinds.values()) if (k.resource.kind === target?.kind) this.o.enqueue(`${k.id}/${obj.metadata.namespace}/${target.name}`);
    }
  }

  /** A kind is in --propagated-kinds (watched now, or as soon as the federation serves it). */
  listed(r: Pick<ApiResource, 'group' | 'kind' | 'plural'>): boolean {
    const candidate = { ...r, version: '', namespaced: true, verbs: [], status: false, preferred: true };
    return this.o.kinds.some((word) => findResource([candidate], word) !== undefined);
  }

  /** Every propagated object in namespace (the objects themselves, of every namespaced kind). */
  *inside(namespace: string): Generator<{ kind: Kind; obj: FederatedObject }> {
    for (const k of this.kinds.values()) {
      if (!k.resource.namespaced) continue;
      for (const obj of k.fed.items.values()) if (obj.metadata.namespace === namespace) yield { kind: k, obj };
    }
  }

  /** Every cluster-scoped object of the propagated kinds. */
  *clusterScoped(): Generator<{ kind: Kind; obj: FederatedObject }> {
    for (const k of this.kinds.values()) if (!k.resource.namespaced) for (const obj of k.fed.items.values()) yield { kind: k, obj };
  }

  enqueueInside(namespace: string): void {
    for (const { kind, obj } of this.inside(namespace)) this.o.enqueue(`${kind.id}/${objectKey(obj.metadata)}`);
  }

  /** Every object again: members came, went, or changed labels or readiness. */
  enqueueAll(): void {
    for (const k of this.kinds.values()) for (const obj of k.fed.items.values()) this.o.enqueue(`${k.id}/${objectKey(obj.metadata)}`);
  }

  /** Every object of one kind again (its CRD arrived in a member). */
  enqueueKind(match: (r: ApiResource) => boolean): void {
    for (const k of this.kinds.values()) if (match(k.resource)) for (const obj of k.fed.items.values()) this.o.enqueue(`${k.id}/${objectKey(obj.metadata)}`);
  }

  /** A propagated HorizontalPodAutoscaler scales this workload: the members' HPAs own its replicas. */
  scaledByAutoscaler(workload: FederatedObject): boolean {
    for (const k of this.kinds.values()) {
      if (!isAutoscaler(k.resource.kind)) continue;
      for (const hpa of k.fed.items.values()) if (scales(hpa, workload)) return true;
    }
    return false;
  }

  /** Namespaced resources the federation serves (preferred versions), refreshed each minute. */
  async namespacedResources(): Promise<ApiResource[]> {
    if (Date.now() - this.served.at > 60_000) this.served = { at: Date.now(), list: await discoverResources(this.o.federation) };
    return this.served.list.filter((r) => r.namespaced && r.preferred && r.verbs.includes('list') && r.verbs.includes('deletecollection'));
  }
}
