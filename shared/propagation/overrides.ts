// Per-cluster variation: an Override (a namespaced object of the federation's API) selects objects of
// its namespace and holds ordered rules, each for the members its cluster selector matches, each
// changing that member's copy: images, env, command and args, labels and annotations, replicas, or a
// JSON patch (RFC 6902) for anything else. Pure functions: the controller renders each member's copy
// after placement and replica division, just before it applies it. Order is defined: Overrides by
// name, rules in order; a later change of the same field wins.
import jsonpatch, { type Operation } from 'fast-json-patch';
import type { FederatedObject } from './copy.ts';
import { matches, parseSelector, type Selector } from './selector.ts';

interface Names {
  /** Only these containers (init containers included); all when absent. */
  containers?: string[];
}

export interface OverrideRule {
  /** kubectl's label-selector syntax over Cluster labels; with clusters, both must hold; neither: every member. */
  clusterSelector?: string;
  clusters?: string[];
  image?: Names & { registry?: string; repository?: string; tag?: string; digest?: string };
  env?: Names & { set?: Record<string, string>; remove?: string[] };
  command?: Names & { values: string[] };
  args?: Names & { values: string[] };
  labels?: { set?: Record<string, string>; remove?: string[] };
  annotations?: { set?: Record<string, string>; remove?: string[] };
  /** This member's replicas, in place of its share of the division. */
  replicas?: number;
  jsonPatch?: Operation[];
}

export interface Override {
  metadata: { name: string; namespace?: string; resourceVersion?: string; generation?: number };
  spec?: {
    resourceSelectors?: { apiVersion?: string; kind: string; name?: string; selector?: string }[];
    rules?: OverrideRule[];
  };
}

export interface MemberLabels {
  name: string;
  labels: Record<string, string>;
}

/** A rule that cannot be rendered for a member: the copy there stays as it was. */
export class OverrideError extends Error {
  readonly override: string;
  readonly rule: number;
  constructor(override: string, rule: number, message: string) {
    super(`Override ${override}, rule ${rule + 1}: ${message}`);
    this.override = override;
    this.rule = rule;
  }
}

/** Whether the Override selects the object (same namespace, kind, and name or label selector). */
export function selects(o: Override, obj: FederatedObject): boolean {
  if ((o.metadata.namespace ?? '') !== (obj.metadata.namespace ?? '')) return false;
  return (o.spec?.resourceSelectors ?? []).some((s) => {
    if (s.kind !== obj.kind || (s.apiVersion !== undefined && s.apiVersion !== obj.apiVersion)) return false;
    if (s.name !== undefined && s.name !== obj.metadata.name) return false;
    if (s.selector !== undefined) {
      try {
        return matches(parseSelector(s.selector), obj.metadata.labels);
      } catch {
        return false;
      }
    }
    return true;
  });
}

/** Where a kind keeps its pod spec, if it has one. */
export function podSpec(obj: FederatedObject): Record<string, unknown> | undefined {
  const spec = obj.spec;
  const template = (s: unknown) => ((s as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec);
  if (obj.kind === 'Pod') return spec;
  if (obj.kind === 'CronJob') return template((spec?.jobTemplate as { spec?: unknown } | undefined)?.spec);
  return template(spec);
}

interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  command?: string[];
  args?: string[];
}

/** The containers a rule applies to; throws when the kind has none or a named one is missing. */
function containersOf(obj: FederatedObject, names: string[] | undefined, fail: (m: string) => never): Container[] {
  const spec = podSpec(obj);
  if (!spec) fail(`${obj.kind} ${obj.metadata.name} has no containers (image, env, command and args rules apply to workloads and Pods)`);
  const all = [...((spec.initContainers as Container[] | undefined) ?? []), ...((spec.containers as Container[] | undefined) ?? [])];
  if (!names) return all;
  const missing = names.filter((n) => !all.some((c) => c.name === n));
  if (missing.length > 0) fail(`${obj.kind} ${obj.metadata.name} has no container ${missing.map((m) => `"${m}"`).join(', ')} (it has: ${all.map((c) => c.name).join(', ')})`);
  return all.filter((c) => names.includes(c.name));
}

/** An image reference in its parts: [registry/]repository[:tag][@digest]. */
export function splitImage(image: string): { registry?: string; repository: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  // As Docker reads it: a first part with a dot or a port, or "localhost", is a registry.
  const registry = first && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : undefined;
  const repository = registry ? rest.slice(slash + 1) : rest;
  return { ...(registry ? { registry } : {}), repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

export function joinImage(p: { registry?: string; repository: string; tag?: string; digest?: string }): string {
  return `${p.registry ? `${p.registry}/` : ''}${p.repository}${p.tag ? `:${p.tag}` : ''}${p.digest ? `@${p.digest}` : ''}`;
}

function setMap(meta: Record<string, unknown>, field: 'labels' | 'annotations', op: { set?: Record<string, string>; remove?: string[] }): void {
  const map = { ...((meta[field] as Record<string, string> | undefined) ?? {}) };
  for (const k of op.remove ?? []) delete map[k];
  Object.assign(map, op.set ?? {});
  meta[field] = map;
}

function applyRule(copy: FederatedObject, rule: OverrideRule, fail: (m: string) => never): FederatedObject {
  let out = copy;
  if (rule.image) {
    for (const c of containersOf(out, rule.image.containers, fail)) {
      const p = splitImage(c.image ?? '');
      const { registry, repository, tag, digest } = rule.image;
      c.image = joinImage({
        ...(registry !== undefined ? (registry ? { registry } : {}) : p.registry ? { registry: p.registry } : {}),
        repository: repository ?? p.repository,
        // A new tag drops a digest the image had, and a new digest its tag: the reference names one image.
        ...(digest ? { digest } : tag ? { tag } : { ...(p.tag ? { tag: p.tag } : {}), ...(p.digest ? { digest: p.digest } : {}) }),
      });
    }
  }
  if (rule.env) {
    for (const c of containersOf(out, rule.env.containers, fail)) {
      const remove = new Set([...(rule.env.remove ?? []), ...Object.keys(rule.env.set ?? {})]);
      const kept = (c.env ?? []).filter((e) => !remove.has(e.name));
      c.env = [...kept, ...Object.entries(rule.env.set ?? {}).map(([name, value]) => ({ name, value }))];
    }
  }
  if (rule.command) for (const c of containersOf(out, rule.command.containers, fail)) c.command = [...rule.command.values];
  if (rule.args) for (const c of containersOf(out, rule.args.containers, fail)) c.args = [...rule.args.values];
  if (rule.labels) setMap(out.metadata, 'labels', rule.labels);
  if (rule.annotations) setMap(out.metadata, 'annotations', rule.annotations);
  if (rule.replicas !== undefined) {
    if (!out.spec || !('replicas' in out.spec || ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(out.kind))) fail(`${out.kind} ${out.metadata.name} has no spec.replicas`);
    out.spec = { ...out.spec, replicas: rule.replicas };
  }
  if (rule.jsonPatch) {
    try {
      out = jsonpatch.applyPatch(out, rule.jsonPatch, true, false).newDocument;
    } catch (err) {
      fail(`its JSON patch does not apply to ${out.kind} ${out.metadata.name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}

/**
 * A member's copy with every Override that selects the object applied, in order (Overrides by name,
 * rules as written), and the names of those that changed something. Throws OverrideError: the
 * caller then leaves that member's copy as it was.
 */
export function render(copy: FederatedObject, overrides: Override[], member: MemberLabels): { copy: FederatedObject; applied: string[] } {
  let out = structuredClone(copy);
  const applied: string[] = [];
  for (const o of [...overrides].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    if (!selects(o, copy)) continue;
    for (const [i, rule] of (o.spec?.rules ?? []).entries()) {
      const fail = (m: string): never => {
        throw new OverrideError(o.metadata.name, i, m);
      };
      if (rule.clusters && !rule.clusters.includes(member.name)) continue;
      if (rule.clusterSelector !== undefined) {
        let selector: Selector;
        try {
          selector = parseSelector(rule.clusterSelector);
        } catch (err) {
          throw new OverrideError(o.metadata.name, i, (err as Error).message);
        }
        if (!matches(selector, member.labels)) continue;
      }
      out = applyRule(out, rule, fail);
      if (!applied.includes(o.metadata.name)) applied.push(o.metadata.name);
    }
  }
  return { copy: out, applied };
}
