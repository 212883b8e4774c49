// What an API server serves, from its aggregated discovery (two requests for every group and
// version): the controller manager resolves the kinds it propagates here rather than from a fixed
// table, so custom resources and whatever a newer server adds work the same way.
import type { RestClient } from './rest.ts';

export interface ApiResource {
  group: string;
  version: string;
  kind: string;
  /** The resource's name in paths: "deployments". */
  plural: string;
  namespaced: boolean;
  verbs: string[];
  /** Whether it has a status subresource. */
  status: boolean;
  /** The group's preferred version serves this kind. */
  preferred: boolean;
}

export const apiVersionOf = (r: Pick<ApiResource, 'group' | 'version'>): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** /api/v1/namespaces/ns/configmaps[/name[/sub]] */
export function resourcePath(r: Pick<ApiResource, 'group' | 'version' | 'plural' | 'namespaced'>, namespace?: string, name?: string, sub?: string): string {
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
}

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

interface DiscoveryList {
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      resources?: {
        resource: string;
        responseKind?: { group?: string; version?: string; kind?: string };
        scope: 'Namespaced' | 'Cluster';
        verbs?: string[];
        subresources?: { subresource: string }[];
      }[];
    }[];
  }[];
}

/** Every resource the server serves (not subresources), preferred versions first within a group. */
export async function discoverResources(client: RestClient, timeoutMs?: number): Promise<ApiResource[]> {
  const lists = await Promise.all(['/api', '/apis'].map((path) => client.get<DiscoveryList>(path, { accept: AGGREGATED, timeoutMs })));
  const out: ApiResource[] = [];
  for (const list of lists) {
    if (!Array.isArray(list.items)) throw new Error('the server did not answer aggregated discovery (Kubernetes 1.30 or later is needed)');
    for (const g of list.items) {
      const group = g.metadata?.name ?? '';
      for (const [i, v] of (g.versions ?? []).entries()) {
        for (const r of v.resources ?? []) {
          if (!r.responseKind?.kind) continue;
          out.push({
            group,
            version: v.version,
            kind: r.responseKind.kind,
            plural: r.resource,
            namespaced: r.scope === 'Namespaced',
            verbs: r.verbs ?? [],
            status: (r.subresources ?? []).some((s) => s.subresource === 'status'),
            preferred: i === 0,
          });
        }
      }
    }
  }
  return out;
}

/**
 * The resource a user's word names, as kubectl reads it: "Deployment", "deployments",
 * "Deployment.apps", "deployments.apps", "Widget.example.com"; the group's preferred version.
 */
export function findResource(resources: ApiResource[], word: string): ApiResource | undefined {
  const dot = word.indexOf('.');
  const name = (dot < 0 ? word : word.slice(0, dot)).toLowerCase();
  const group = dot < 0 ? undefined : word.slice(dot + 1);
  const matches = resources.filter(
    (r) => (r.kind.toLowerCase() === name || r.plural === name) && (group === undefined ? true : r.group === group),
  );
  // Without a group, the core and built-in groups win over a custom resource of the same kind.
  const builtIn = (r: ApiResource) => !r.group.includes('.') || r.group.endsWith('.k8s.io');
  matches.sort((a, b) => Number(b.preferred) - Number(a.preferred) || Number(builtIn(b)) - Number(builtIn(a)));
  return matches[0];
}
