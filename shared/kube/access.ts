// Checks, before anything is written, that the user may do what a command is about to do: one
// SelfSubjectRulesReview instead of a failure halfway through that leaves half a deployment behind.
import type { V1SelfSubjectRulesReview } from '@kubernetes/client-node';
import type { RestClient } from './rest.ts';

export interface Permission {
  verb: string;
  group: string;
  resource: string;
}

const covers = (list: string[] | undefined, value: string) => !!list && (list.includes('*') || list.includes(value));

export function describePermission(p: Permission): string {
  return `${p.verb} ${p.group ? `${p.resource}.${p.group}` : p.resource}`;
}

/**
 * The permissions in needed that the user lacks in namespace. Empty also when the server cannot
 * tell (an authorizer that does not list rules): then the writes themselves will say.
 */
export async function missingPermissions(client: RestClient, namespace: string, needed: Permission[]): Promise<Permission[]> {
  const review = await client.request<V1SelfSubjectRulesReview>('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
    // A review creates nothing: as safe to send again as a GET.
    retry: true,
  });
  const rules = review.status?.resourceRules ?? [];
  const missing = needed.filter(
    (p) =>
      !rules.some(
        (r) =>
          covers(r.verbs, p.verb) &&
          covers(r.apiGroups, p.group) &&
          covers(r.resources, p.resource) &&
          (r.resourceNames ?? []).length === 0,
      ),
  );
  return review.status?.incomplete ? [] : missing;
}

/** verbs on each resource of a group: a compact way to write what a command needs. */
export function permissions(group: string, resources: string[], verbs: string[]): Permission[] {
  return resources.flatMap((resource) => verbs.map((verb) => ({ verb, group, resource })));
}
