// Which kinds the federation propagates. The controller manager resolves these words through the
// federation's discovery; join needs the same list for the member's role before any controller
// runs, so the built-in kinds' resources are also written down here (they never move).
import { InputError } from '../errors.ts';
import { type ApiResource, findResource } from '../kube/discovery.ts';

type Builtin = Pick<ApiResource, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>;

const builtin = (group: string, version: string, kind: string, plural: string, namespaced = true): Builtin => ({ group, version, kind, plural, namespaced });

/** The default of --propagated-kinds, in the order they are created in a member. */
export const DEFAULT_PROPAGATED: Builtin[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', false),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts'),
  builtin('', 'v1', 'ConfigMap', 'configmaps'),
  builtin('', 'v1', 'Secret', 'secrets'),
  builtin('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  builtin('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  builtin('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims'),
  builtin('', 'v1', 'Service', 'services'),
  builtin('apps', 'v1', 'Deployment', 'deployments'),
  builtin('apps', 'v1', 'StatefulSet', 'statefulsets'),
  builtin('apps', 'v1', 'DaemonSet', 'daemonsets'),
  builtin('batch', 'v1', 'Job', 'jobs'),
  builtin('batch', 'v1', 'CronJob', 'cronjobs'),
  builtin('networking.k8s.io', 'v1', 'Ingress', 'ingresses'),
  builtin('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
];

export const DEFAULT_PROPAGATED_KINDS = DEFAULT_PROPAGATED.map((r) => (r.group ? `${r.kind}.${r.group}` : r.kind)).join(',');

/** "Deployment.apps,ConfigMap,widgets.example.com" as words; an empty entry is an error. */
export function parseKindList(value: string, flag: string): string[] {
  const words = value.split(',').map((w) => w.trim());
  const bad = words.find((w) => !/^[A-Za-z][A-Za-z0-9]*(\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?)?$/.test(w));
  if (bad !== undefined) {
    throw new Error(`${flag}: "${bad}" is not a kind such as Deployment, Deployment.apps or widgets.example.com (comma-separated)`);
  }
  return words;
}

/**
 * Kinds that change how a member admits, trusts or runs everything else: never propagated, whoever
 * may write them in the federation (a webhook there would see, or change, every object of every
 * member). By their lower-case kind, singular and plural.
 */
const NEVER_PROPAGATED: Record<string, string> = Object.fromEntries(
  [
    ['ValidatingWebhookConfiguration', 'decides what a member admits'],
    ['MutatingWebhookConfiguration', 'decides and changes what a member admits'],
    ['ValidatingAdmissionPolicy', 'decides what a member admits'],
    ['ValidatingAdmissionPolicyBinding', 'decides what a member admits'],
    ['MutatingAdmissionPolicy', 'decides and changes what a member admits'],
    ['MutatingAdmissionPolicyBinding', 'decides and changes what a member admits'],
    ['Node', "is one of a member's machines"],
    ['CertificateSigningRequest', "asks a member's CA for a certificate"],
    ['ClusterTrustBundle', 'says which authorities a member trusts'],
    ['APIService', "routes part of a member's API to another server"],
  ].flatMap(([kind, what]) => {
    const lower = kind!.toLowerCase();
    const plural = lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
    return [lower, plural].map((k) => [k, `${/^[AEIOU]/.test(kind!) ? 'an' : 'a'} ${kind} ${what}`] as const);
  }),
);

/** --propagated-kinds as join and the controller manager take it (the default list when not given). */
export function propagatedKindsFlag(value: string | undefined): string[] {
  let words: string[];
  try {
    words = parseKindList(value ?? DEFAULT_PROPAGATED_KINDS, '--propagated-kinds');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  for (const w of words) {
    const why = NEVER_PROPAGATED[w.split('.')[0]!.toLowerCase()];
    if (why) throw new InputError(`--propagated-kinds: "${w}" is never propagated (${why}): leave it out`);
  }
  return words;
}

/** The words resolved through resources (a server's discovery); unknown words listed apart. */
export function resolveKinds(words: string[], resources: ApiResource[]): { found: ApiResource[]; unknown: string[] } {
  const found: ApiResource[] = [];
  const unknown: string[] = [];
  for (const w of words) {
    const r = findResource(resources, w);
    if (!r) unknown.push(w);
    else if (!found.some((f) => f.group === r.group && f.kind === r.kind)) found.push(r);
  }
  return { found, unknown };
}

/** The built-in table as discovery would give it, for callers that resolve without a server. */
export function builtinResources(): ApiResource[] {
  return DEFAULT_PROPAGATED.map((r) => ({ ...r, verbs: [], status: false, preferred: true }));
}
