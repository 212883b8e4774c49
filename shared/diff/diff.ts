// `kubectl federation diff`: for each member the placement selects, what it would receive (replicas
// divided, Overrides applied, the dependencies that follow added) beside what it has now, in
// `kubectl diff`'s form: the member's live object and the member's server-side dry run of our apply,
// written under LIVE/<cluster>/ and MERGED/<cluster>/ and compared by `diff -u -N -r` (or
// $KUBECTL_EXTERNAL_DIFF). Exit codes as kubectl diff's: 0 none, 1 differences, >1 an error. It reads
// the federation and the members (through the kubeconfig's contexts named as the clusters) and
// changes nothing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { FEDERATION_API_VERSION, FEDERATION_GROUP, FEDERATION_VERSION, FIELD_MANAGER } from '../constants.ts';
import { InputError, UserError } from '../errors.ts';
import { findFederationContext } from '../federation-context.ts';
import type { Kubeconfig } from '../kubeconfig.ts';
import { type ApiResource, discoverResources, findResource, resourcePath } from '../kube/discovery.ts';
import { isNotFound, type RestClient } from '../kube/rest.ts';
import { clientFor } from '../join/contexts.ts';
import type { Cluster } from '../manifests/federation-api.ts';
import { readFederationId } from '../member-credentials.ts';
import { type FederatedObject, hasReplicas, memberCopy } from '../propagation/copy.ts';
import { hasRevisions, templateOf } from '../propagation/revisions.ts';
import { follows, references } from '../propagation/dependencies.ts';
import { type Override, render } from '../propagation/overrides.ts';
import { divideReplicas, type MemberView, place } from '../propagation/placement.ts';

export interface DiffRequest {
  kubeconfig: Kubeconfig;
  /** The federation's context (default: the current one). */
  context?: string;
  /** -f: files, "-" for stdin. */
  files: string[];
  /** -k: a kustomization directory, built by `kubectl kustomize`. */
  kustomize?: string;
  /** KIND/NAME of an object already in the federation. */
  object?: string;
  namespace?: string;
  /** --cluster: only this member. */
  cluster?: string;
  timeoutMs: number;
  stdin: () => string;
}

export interface DiffResult {
  /** kubectl diff's: 0 no differences, 1 differences. */
  code: number;
  text: string;
}

interface Target {
  resource: ApiResource;
  obj: FederatedObject;
  clusters: string[];
  shares?: Map<string, number>;
  /** A workload's pod template as the federation stores it. */
  template?: Record<string, unknown>;
}

const docsOf = (text: string, where: string): FederatedObject[] =>
  parseAllDocuments(text).flatMap((d): FederatedObject[] => {
    if (d.errors.length > 0) throw new InputError(`${where}: ${d.errors[0]!.message.split('\n')[0]}`);
    const v = d.toJS() as (FederatedObject & { items?: FederatedObject[] }) | null;
    if (!v) return [];
    return v.kind === 'List' && Array.isArray(v.items) ? v.items : [v];
  });

/** The objects asked about: files, stdin, a kustomization, or one object of the federation. */
async function objectsOf(req: DiffRequest, federation: RestClient, resources: ApiResource[]): Promise<FederatedObject[]> {
  if (req.object) {
    const [word, name] = req.object.split('/');
    const r = word ? findResource(resources, word) : undefined;
    if (!r || !name) throw new InputError(`"${req.object}" is not KIND/NAME of a kind the federation serves (e.g. deployment/web)`);
    const found = await federation.find<FederatedObject>(resourcePath(r, req.namespace ?? 'default', name));
    if (!found) throw new UserError(`${r.kind} ${r.namespaced ? `${req.namespace ?? 'default'}/` : ''}${name} is not in the federation`);
    return [{ ...found, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind }];
  }
  const out: FederatedObject[] = [];
  for (const f of req.files) {
    let text: string;
    try {
      text = f === '-' ? req.stdin() : readFileSync(f, 'utf8');
    } catch (err) {
      throw new InputError(`-f ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    out.push(...docsOf(text, f === '-' ? 'stdin' : f));
  }
  if (req.kustomize) {
    const built = spawnSync('kubectl', ['kustomize', req.kustomize], { encoding: 'utf8' });
    if (built.status !== 0) throw new UserError(`kubectl kustomize ${req.kustomize}: ${(built.stderr || built.error?.message || '').trim()}`);
    out.push(...docsOf(built.stdout, req.kustomize));
  }
  if (out.length === 0) throw new InputError('nothing to compare: give -f FILE (or - for stdin), -k DIR, or KIND/NAME');
  return out;
}

/** What the diff shows of an object: as kubectl diff does, without managedFields. */
const shown = (o: FederatedObject): string => {
  const c = structuredClone(o);
  delete c.metadata.managedFields;
  return stringify(c);
};

export async function runDiff(req: DiffRequest): Promise<DiffResult> {
  const { context, ext } = findFederationContext(req.kubeconfig, req.context);
  const federation = await clientFor(req.kubeconfig.resolve(context), req.timeoutMs);
  const members = new Map<string, RestClient>();
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-federation-diff-'));
  try {
    const resources = await discoverResources(federation, req.timeoutMs);
    const objects = await objectsOf(req, federation, resources);
    const federationId = await readFederationId(federation);
    const clusters = (await federation.get<{ items: Cluster[] }>(`/apis/${FEDERATION_API_VERSION}/clusters`)).items;
    const views: MemberView[] = clusters.map((c) => ({
      name: c.metadata.name,
      labels: c.metadata.labels ?? {},
      ready: c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false,
      since: 0,
    }));
    if (req.cluster && !views.some((v) => v.name === req.cluster)) throw new InputError(`--cluster: "${req.cluster}" is not joined to federation ${ext.federation}`);
    const namespaceAnnotations = new Map<string, Record<string, string>>();
    const overrides = new Map<string, Override[]>();
    const annotationsOf = async (ns: string) => {
      if (!namespaceAnnotations.has(ns)) {
        const inFile = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === ns);
        const live = inFile ?? (await federation.find<FederatedObject>(`/api/v1/namespaces/${encodeURIComponent(ns)}`));
        namespaceAnnotations.set(ns, live?.metadata.annotations ?? {});
      }
      return namespaceAnnotations.get(ns)!;
    };
    const overridesOf = async (ns: string | undefined) => {
      const key = ns ?? '';
      if (!overrides.has(key)) {
        const path = ns ? `/apis/${FEDERATION_GROUP}/${FEDERATION_VERSION}/namespaces/${encodeURIComponent(ns)}/overrides` : `/apis/${FEDERATION_GROUP}/${FEDERATION_VERSION}/clusteroverrides`;
        const list = await federation.find<{ items: Override[] }>(path);
        overrides.set(key, [...(list?.items ?? []), ...objects.filter((o) => o.kind === (ns ? 'Override' : 'ClusterOverride') && (o.metadata.namespace ?? req.namespace ?? 'default') === key) as unknown as Override[]]);
      }
      return overrides.get(key)!;
    };

    // Each object with its placement; the dependencies that follow a workload of the set, added.
    const targets: Target[] = [];
    const placeOf = async (obj: FederatedObject) => place({ objectAnnotations: obj.metadata.annotations ?? {}, namespaceAnnotations: obj.metadata.namespace ? await annotationsOf(obj.metadata.namespace) : {}, members: views, now: Date.now(), graceMs: 0 });
    for (const raw of objects) {
      if (raw.apiVersion?.startsWith(`${FEDERATION_GROUP}/`)) continue;
      const resource = findResource(resources, raw.apiVersion?.includes('/') ? `${raw.kind}.${raw.apiVersion.split('/')[0]}` : raw.kind);
      if (!resource) throw new UserError(`the federation does not serve ${raw.kind} (${raw.apiVersion})`);
      const obj = { ...raw, metadata: { ...raw.metadata, ...(resource.namespaced ? { namespace: raw.metadata.namespace ?? req.namespace ?? 'default' } : {}) } };
      targets.push({ resource, obj, clusters: (await placeOf(obj)).clusters });
    }
    // A dependency with no placement of its own goes where the workloads that use it go (the union).
    const following = new Set<Target>();
    for (const t of [...targets]) {
      for (const ref of references(t.obj)) {
        const [kind, name] = ref.split('/');
        const resource = findResource(resources, kind!);
        if (!resource) continue;
        const already = targets.find((x) => x.obj.kind === kind && x.obj.metadata.name === name && x.obj.metadata.namespace === t.obj.metadata.namespace);
        const dep = already?.obj ?? (await federation.find<FederatedObject>(resourcePath(resource, t.obj.metadata.namespace, name)));
        if (!dep || !follows(dep)) continue;
        const entry = already ?? { resource, obj: { ...dep, apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version, kind: resource.kind }, clusters: [] };
        if (!following.has(entry)) {
          following.add(entry);
          entry.clusters = [];
          if (!already) targets.push(entry);
        }
        for (const c of t.clusters) if (!entry.clusters.includes(c)) entry.clusters.push(c);
      }
    }
    for (const t of targets) if (hasReplicas(t.obj.kind)) t.shares = divideReplicas((t.obj.spec?.replicas as number | undefined) ?? 1, t.clusters, t.obj.metadata.annotations ?? {});

    // Each member's live object and its dry run of the copy the federation would apply.
    let compared = 0;
    for (const t of targets) {
      for (const view of views) {
        if (req.cluster && view.name !== req.cluster) continue;
        const selected = t.clusters.includes(view.name);
        const member = members.get(view.name) ?? (await memberClient(req, view.name));
        members.set(view.name, member);
        const path = resourcePath(t.resource, t.obj.metadata.namespace, t.obj.metadata.name);
        const live = await member.find<FederatedObject>(path);
        const ours = live?.metadata.labels?.['propagation.core.federation.kubectl-federation.io/federation-id'] === federationId;
        if (!selected && !ours) continue;
        const file = `${t.resource.group || 'core'}.${t.resource.version}.${t.resource.kind}.${t.obj.metadata.namespace ? `${t.obj.metadata.namespace}.` : ''}${t.obj.metadata.name}`;
        for (const side of ['LIVE', 'MERGED']) mkdirSync(join(dir, side, view.name), { recursive: true });
        if (live) writeFileSync(join(dir, 'LIVE', view.name, file), shown(live));
        compared += 1;
        if (!selected) continue; // a copy the placement no longer selects: removed there
        if (hasRevisions(t.obj.kind) && !t.template) t.template = await storedTemplate(federation, path, t.obj);
        const base = memberCopy(t.obj, { federationName: ext.federation, federationId, replicas: t.shares?.get(view.name), userSetNodePorts: true, ...(t.template ? { template: t.template } : {}) });
        const { copy } = render(base, await overridesOf(t.obj.metadata.namespace), { name: view.name, labels: view.labels });
        const merged = await member.request<FederatedObject>('PATCH', path, {
          body: copy,
          contentType: 'application/apply-patch+yaml',
          query: { fieldManager: FIELD_MANAGER, force: true, dryRun: 'All' },
        }).catch((err: unknown) => {
          if (isNotFound(err) && t.obj.metadata.namespace) return copy; // its namespace is not there yet: it would be made
          throw err;
        });
        writeFileSync(join(dir, 'MERGED', view.name, file), shown(merged));
      }
    }
    if (compared === 0) return { code: 0, text: '' };
    const [program, ...flags] = (process.env.KUBECTL_EXTERNAL_DIFF ?? 'diff -u -N').split(/\s+/).filter(Boolean);
    const ran = spawnSync(program!, [...flags, ...(process.env.KUBECTL_EXTERNAL_DIFF ? [] : ['-r']), join(dir, 'LIVE'), join(dir, 'MERGED')], { encoding: 'utf8' });
    if (ran.error) throw new UserError(`running ${program}: ${ran.error.message}`);
    if ((ran.status ?? 2) > 1) throw new UserError(`${program} failed: ${ran.stderr.trim()}`);
    return { code: ran.status ?? 0, text: ran.stdout.replaceAll(dir, '') };
  } finally {
    federation.close();
    for (const m of members.values()) m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A workload's pod template as the federation would store it (its defaults filled in by a dry run):
 * what the members are sent, and what names the revision on their copies. Undefined when the dry run
 * cannot be made (its namespace not there yet): the template as written, then.
 */
async function storedTemplate(federation: RestClient, path: string, obj: FederatedObject): Promise<Record<string, unknown> | undefined> {
  try {
    const stored = await federation.request<FederatedObject>('PATCH', path, { body: obj, contentType: 'application/apply-patch+yaml', query: { fieldManager: FIELD_MANAGER, force: true, dryRun: 'All' } });
    return templateOf(stored);
  } catch {
    return undefined;
  }
}

/** The member's client from the kubeconfig context named as the cluster. */
async function memberClient(req: DiffRequest, cluster: string): Promise<RestClient> {
  if (!req.kubeconfig.context(cluster)) {
    throw new UserError(`cannot read cluster ${cluster}: ${req.kubeconfig.describePaths()} has no context of that name; add one (kubectl config set-context ${cluster} ...), or narrow the diff with --cluster`);
  }
  return clientFor(req.kubeconfig.resolve(cluster), req.timeoutMs);
}
