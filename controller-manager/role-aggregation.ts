// ClusterRole aggregation in the federation. Kubernetes fills the rules of aggregated ClusterRoles
// (admin, edit, view, and any other with an aggregationRule) in kube-controller-manager; the
// federation's API server runs none, so without this `kubectl create rolebinding --clusterrole=edit`
// would grant nothing there. The rule is upstream's: the rules of every ClusterRole matching any of
// the selectors, in name order, each rule once.
import { errorMessage } from '../shared/errors.ts';
import type { RestClient } from '../shared/kube/rest.ts';
import { fromLabelSelector, matches } from '../shared/propagation/selector.ts';
import type { Enqueue, Reconciler } from './runtime/controller.ts';
import { Reflector } from './runtime/reflector.ts';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

interface ClusterRole {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  aggregationRule?: { clusterRoleSelectors?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }[] };
  rules?: Rule[] | null;
}

const PATH = '/apis/rbac.authorization.k8s.io/v1/clusterroles';

/** The aggregated rules of role among roles: upstream's union, without repeats. */
export function aggregatedRules(role: ClusterRole, roles: Iterable<ClusterRole>): Rule[] {
  const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).map(fromLabelSelector);
  const sources = [...roles]
    .filter((r) => r.metadata.name !== role.metadata.name && selectors.some((s) => matches(s, r.metadata.labels)))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const seen = new Set<string>();
  const rules: Rule[] = [];
  for (const rule of sources.flatMap((r) => r.rules ?? [])) {
    const key = JSON.stringify(rule);
    if (seen.has(key)) continue;
    seen.add(key);
    rules.push(rule);
  }
  return rules;
}

export class RoleAggregation implements Reconciler {
  readonly name = 'role-aggregation';
  readonly roles: Reflector<ClusterRole>;
  private readonly federation: RestClient;
  private readonly log: (line: string) => void;

  constructor(o: { federation: RestClient; log: (line: string) => void }, enqueue: Enqueue) {
    this.federation = o.federation;
    this.log = o.log;
    // Any role's change may change any aggregate: every aggregated role is looked at again (a few).
    this.roles = new Reflector<ClusterRole>(
      o.federation,
      PATH,
      () => {
        for (const r of this.roles.items.values()) if (r.aggregationRule) enqueue(r.metadata.name);
      },
      { log: o.log },
    );
  }

  async reconcile(name: string): Promise<void> {
    const role = this.roles.items.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.roles.items.values());
    if (JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) return;
    try {
      await this.federation.request('PATCH', `${PATH}/${encodeURIComponent(name)}`, { body: { rules }, contentType: 'application/merge-patch+json' });
    } catch (err) {
      this.log(`ClusterRole ${name}: aggregating its rules failed: ${errorMessage(err)}`);
      throw err;
    }
  }
}
