// `kubectl federation unjoin`, as named steps: the Cluster, its credentials (kept in the federation)
// and the identity this federation created in the member, selected by labels so that another
// federation's are never touched. An unreachable member is warned about; the rest is removed all
// the same. Re-running it finishes what a killed or unreachable run left.
import { CLUSTER_LABEL, FEDERATION_API_VERSION, FEDERATION_LABEL, MANAGED_BY } from '../constants.ts';
import { pullNamespace } from '../pull/names.ts';
import { errorMessage, UserError } from '../errors.ts';
import type { Kubeconfig } from '../kubeconfig.ts';
import { DELETE_IN_BACKGROUND, deleteObject } from '../kube/apply.ts';
import { allNamespacesPath, collectionPath, objectPath } from '../kube/resources.ts';
import { ConnectionError, isNotFound, type RestClient } from '../kube/rest.ts';
import { type ApiResource, discoverResources, resourcePath } from '../kube/discovery.ts';
import { PROPAGATED_BY_LABEL } from '../propagation/annotations.ts';
import { DEFAULT_PROPAGATED } from '../propagation/kinds.ts';
import type { Cluster, Propagation } from '../manifests/federation-api.ts';
import { type MemberNames, memberObjectNames, memberSelector } from '../manifests/member.ts';
import type { Output } from '../output.ts';
import { failedAt } from '../kube/failures.ts';
import { clientFor, federationIdentity, type Membership, type MembershipFlags, resolveMembership, validateClusterName } from '../join/contexts.ts';
import { need, runSteps, type Step, StepError } from '../steps.ts';

export interface UnjoinRequest extends MembershipFlags {
  kubeconfig: Kubeconfig;
  ignoreNotFound: boolean;
  /** Delete what the federation propagated into the member too (default: leave it running). */
  deletePropagated?: boolean;
  out: Output;
}

export interface UnjoinResult {
  removed: boolean;
  /** Objects that could not be removed from an unreachable member. */
  leftBehind: string[];
  /** Propagated objects left running in the member (0 with --delete-propagated). */
  propagatedLeft: number;
}

interface Listed {
  items: { metadata: { name: string; namespace?: string } }[];
}

/**
 * The kinds join (and the controller manager, for RoleBindings in the namespaces it propagates into)
 * creates in a member, found by this federation's and cluster's labels: the rights go first, the
 * admission policy that bounds them last. Secret: the token Secret of joins before expiring tokens.
 */
const memberKinds: { apiVersion: string; kind: string; scope: 'cluster' | 'own' | 'all' }[] = [
  // A pull member's agent first (it stops before its rights go), with its code.
  { apiVersion: 'apps/v1', kind: 'Deployment', scope: 'own' },
  { apiVersion: 'v1', kind: 'ConfigMap', scope: 'own' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', scope: 'cluster' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', scope: 'all' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', scope: 'cluster' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', scope: 'own' },
  { apiVersion: 'v1', kind: 'Secret', scope: 'own' },
  { apiVersion: 'v1', kind: 'ServiceAccount', scope: 'own' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', scope: 'cluster' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', scope: 'cluster' },
];
const memberKindPath = (k: (typeof memberKinds)[number], n: MemberNames) =>
  k.scope === 'all' ? allNamespacesPath(k.apiVersion, k.kind) : collectionPath(k.apiVersion, k.kind, k.scope === 'own' ? n.namespace : undefined);
const LEFT_BEHIND = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'RoleBinding', 'Role', 'ValidatingAdmissionPolicy'];

type Resource = Pick<ApiResource, 'group' | 'version' | 'plural' | 'namespaced'>;

/**
 * The kinds the federation may have propagated into the member: the built-in ones, and whatever
 * else the member's role lets it list (custom resources joined with --propagated-kinds), as the
 * member serves them. Read before the role is removed.
 */
async function propagatedKinds(client: RestClient, n: MemberNames): Promise<Resource[]> {
  const kinds: Resource[] = [...DEFAULT_PROPAGATED];
  const roles = await client.get<{ items: { rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[] }[] }>(
    collectionPath('rbac.authorization.k8s.io/v1', 'ClusterRole'),
    { query: { labelSelector: memberSelector(n) } },
  );
  const extra = roles.items
    .flatMap((r) => r.rules ?? [])
    .filter((rule) => rule.verbs?.includes('list'))
    .flatMap((rule) => (rule.apiGroups ?? []).flatMap((group) => (rule.resources ?? []).map((plural) => ({ group, plural }))))
    .filter((k) => !kinds.some((d) => d.group === k.group && d.plural === k.plural) && !k.plural.includes('/'));
  if (extra.length === 0) return kinds;
  const served = await discoverResources(client);
  for (const k of extra) {
    const r = served.find((x) => x.group === k.group && x.plural === k.plural && x.preferred);
    // The join's own kinds (nodes for zones, the health endpoints) are not propagated: left out by
    // the label selector anyway, listed only if served.
    if (r && r.group !== '') kinds.push(r);
  }
  return kinds;
}

/** The words kubectl delete takes for these kinds: "deployments.apps,configmaps,widgets.example.com". */
const kindWords = (kinds: Resource[]) => kinds.map((r) => (r.group ? `${r.plural}.${r.group}` : r.plural)).join(',');

/**
 * The copies this federation propagated into the member (found by label), left running by default,
 * deleted with --delete-propagated (namespaces last: they take the rest along).
 */
async function propagatedCopies(client: RestClient, n: MemberNames, remove: boolean, context: string): Promise<{ count: number; left?: string }> {
  const selector = `${PROPAGATED_BY_LABEL}=${n.federationId}`;
  const kinds = await propagatedKinds(client, n);
  let count = 0;
  // Custom resources before the built-in kinds (their CRDs among them), namespaces last.
  for (const r of [...kinds].reverse()) {
    const list = await client.get<Listed>(resourcePath(r), { query: { labelSelector: selector } });
    count += list.items.length;
    if (!remove) continue;
    for (const item of list.items) {
      await client
        .request('DELETE', resourcePath(r, item.metadata.namespace, item.metadata.name), { body: DELETE_IN_BACKGROUND })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
  }
  if (remove || count === 0) return { count };
  return {
    count,
    left:
      `left ${objects(count)} the federation propagated into cluster ${n.cluster} running there (labelled ${selector}); ` +
      `to remove them, unjoin with --delete-propagated, or: kubectl --context=${context} delete ${kindWords(kinds)} --all-namespaces -l ${selector}`,
  };
}

/** "1 object", "3 objects". */
const objects = (n: number) => `${n} ${n === 1 ? 'object' : 'objects'}`;

/**
 * What the federation's Propagation records say it propagated into a member: the count to report
 * when the member itself cannot be asked. Read before the Cluster goes (the records then drop it).
 */
async function recordedCopies(federation: RestClient, cluster: string): Promise<{ count: number; words: string }> {
  try {
    const records = await federation.get<{ items: Propagation[] }>(`/apis/${FEDERATION_API_VERSION}/propagations`);
    // Applied there, or placed there while it could not be reached (its copy from before is still there).
    const placed = records.items.filter((r) => r.status?.clusters?.some((c) => c.cluster === cluster && (c.applied || c.reachable === false)));
    // kubectl takes "kind.group" as well as "plural.group": the records name kinds.
    const words = new Set(placed.map((r) => {
      const slash = r.spec.resource.apiVersion.indexOf('/');
      return `${r.spec.resource.kind.toLowerCase()}${slash > 0 ? `.${r.spec.resource.apiVersion.slice(0, slash)}` : ''}`;
    }));
    return { count: placed.length, words: [...words].sort().join(',') };
  } catch {
    return { count: 0, words: '' };
  }
}

async function countMemberObjects(client: RestClient, n: MemberNames): Promise<number> {
  let count = 0;
  for (const k of memberKinds) {
    const list = await client.get<Listed>(memberKindPath(k, n), {
      query: { labelSelector: memberSelector(n) },
    });
    count += list.items.length;
  }
  return count;
}

/** join made the namespace and shares it between federations: unjoin leaves it, and says so. */
function noteNamespaceLeft(out: Output, n: MemberNames, context: string): void {
  out.line(
    `Left namespace ${n.namespace} in cluster ${n.cluster} (join made it; other federations may use it): ` +
      `if nothing else does, kubectl --context=${context} delete namespace ${n.namespace}`,
  );
}

async function removeFromMember(client: RestClient, n: MemberNames): Promise<number> {
  let removed = 0;
  for (const k of memberKinds) {
    const list = await client.get<Listed>(memberKindPath(k, n), {
      query: { labelSelector: memberSelector(n) },
    });
    for (const item of list.items) {
      if (await deleteObject(client, { apiVersion: k.apiVersion, kind: k.kind, metadata: item.metadata })) removed += 1;
    }
  }
  return removed;
}

/**
 * A pull member's place in the federation: its namespace (carriers, reports, the agent's identity:
 * its token stops working) and any join token left for it.
 */
async function removePullPlace(federation: RestClient, n: MemberNames): Promise<string> {
  const namespace = pullNamespace(n.cluster);
  const ns = await federation.find<{ metadata: { labels?: Record<string, string> } }>(objectPath('v1', 'Namespace', namespace));
  let removed = `namespace ${namespace} was gone`;
  if (ns?.metadata.labels?.[CLUSTER_LABEL] === n.cluster && ns.metadata.labels[FEDERATION_LABEL] === n.federation) {
    await deleteObject(federation, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    removed = `namespace ${namespace}`;
  }
  const tokens = await federation.get<Listed>(collectionPath('v1', 'Secret', 'kube-system'), { query: { labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY},${CLUSTER_LABEL}=${n.cluster}` } });
  for (const t of tokens.items) await deleteObject(federation, { apiVersion: 'v1', kind: 'Secret', metadata: t.metadata });
  return tokens.items.length > 0 ? `${removed}, ${tokens.items.length} unused join token${tokens.items.length === 1 ? '' : 's'}` : removed;
}

/** What unjoin's steps share: the contexts, the clients, and what each step found for the next. */
interface UnjoinData {
  req: UnjoinRequest;
  m: Membership;
  n: MemberNames;
  federation: RestClient;
  /** The host, connected only to look for the credentials an older release kept there. */
  host?: RestClient;
  /** Absent when the cluster's context is not in the kubeconfig. */
  member?: RestClient;
  /** The Cluster as found (absent: not joined, perhaps half-unjoined before). */
  cluster?: Cluster;
  /** The Secret that holds (or held) its credentials. */
  secretName?: string;
  /** Not joined and nothing of it left anywhere: the steps after the check have nothing to do. */
  nothingLeft: boolean;
  /** What the federation's records say it placed in the member (when the member cannot be asked). */
  recorded: { count: number; words: string };
  /** The warning for the copies left running in the member (said after the steps). */
  copiesLeft?: string;
  /** Why the member could not be asked: its later steps are skipped, and warned about. */
  unreachable?: string;
  result: UnjoinResult;
}

/**
 * Where the member's credentials are: in the federation (or, joined by a release before 0.4, in the
 * host), and whether this federation's join put them there (only then are they removed).
 */
async function findStoredCredentials(d: UnjoinData, secretName: string): Promise<{ client: RestClient; where: string; ours: boolean } | undefined> {
  const places: [() => Promise<RestClient>, string, string][] = [[async () => d.federation, 'federation API server', d.m.federation.name]];
  const hostContext = d.m.host;
  if (hostContext) places.push([async () => (d.host ??= await clientFor(hostContext, d.req.requestTimeoutMs)), 'host cluster', hostContext.name]);
  for (const [connect, where, context] of places) {
    const client = await connect();
    const secret = await client
      .find<{ metadata: { labels?: Record<string, string> } }>(objectPath('v1', 'Secret', secretName, d.n.namespace))
      .catch(failedAt(where, context));
    if (secret) return { client, where, ours: secret.metadata.labels?.[FEDERATION_LABEL] === d.n.federation };
  }
  return undefined;
}

const checkMembership: Step<UnjoinData> = {
  name: 'check-membership',
  title: (d) => `Checking cluster ${d.n.cluster} in federation ${d.n.federation}`,
  run: async (d) => {
    d.n.federationId = await federationIdentity(d.federation, d.req.kubeconfig, d.m.federation.name);
    d.cluster = await d.federation.find<Cluster>(objectPath(FEDERATION_API_VERSION, 'Cluster', d.n.cluster)).catch(failedAt('federation API server', d.m.federation.name));
    if (d.cluster) {
      d.secretName = d.cluster.spec.secretRef?.name;
      // Read before the Cluster goes (the records then drop it).
      d.recorded = await recordedCopies(d.federation, d.n.cluster);
      return `joined${d.cluster.spec.mode === 'Pull' ? ' in pull mode' : ''}`;
    }
    // Not joined, but perhaps left behind by an unjoin that was killed or could not reach the
    // member: the stored credentials, and the identity in the member (found by label) whose token
    // still works. Those go in the next steps.
    d.secretName = memberObjectNames(d.n).credentialsSecret;
    const stored = await findStoredCredentials(d, d.secretName);
    const inMember = d.member ? await countMemberObjects(d.member, d.n).catch(failedAt('cluster', d.m.memberContextName)) : 0;
    if ((stored?.ours ?? false) || inMember > 0) return 'not joined, but an earlier unjoin left some of it behind';
    d.nothingLeft = true;
    if (!d.req.ignoreNotFound) {
      throw new UserError(`cluster "${d.n.cluster}" is not joined to federation ${d.n.federation} (context "${d.m.federation.name}"); pass --ignore-not-found to accept that`);
    }
    return 'not joined; nothing to do';
  },
};

const removeCluster: Step<UnjoinData> = {
  name: 'remove-cluster',
  title: (d) => `Removing cluster ${d.n.cluster} from federation ${d.n.federation}`,
  skip: (d) => !d.cluster,
  run: async (d) => {
    await deleteObject(d.federation, { apiVersion: FEDERATION_API_VERSION, kind: 'Cluster', metadata: { name: d.n.cluster } });
    d.result.removed = true;
  },
};

const removeCredentials: Step<UnjoinData> = {
  name: 'remove-credentials',
  title: (d) => `Removing the credentials of cluster ${d.n.cluster}`,
  skip: (d) => d.nothingLeft || !d.secretName,
  run: async (d) => {
    const secretName = need(d.secretName, "the credentials Secret's name");
    const secret = `Secret ${d.n.namespace}/${secretName}`;
    const stored = await findStoredCredentials(d, secretName);
    if (!stored) return `${secret} was gone`;
    if (!stored.ours) {
      d.req.out.warn(`${secret} in the ${stored.where} was not made by this federation's join; left in place`);
      return 'none made by this join';
    }
    await deleteObject(stored.client, { apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: d.n.namespace } });
    d.result.removed = true;
    return `${secret}, from the ${stored.where}`;
  },
};

const removeAgentPlace: Step<UnjoinData> = {
  name: 'remove-agent-place',
  title: (d) => `Removing the place of cluster ${d.n.cluster}'s agent from the federation`,
  skip: (d) => d.cluster?.spec.mode !== 'Pull',
  // The agent's identity goes with its namespace: its token stops working at once.
  run: (d) => removePullPlace(d.federation, d.n),
};

/** Whether the member is asked at all: its context exists, it answered so far, and there is something to do there. */
const memberSkipped = (d: UnjoinData) => d.nothingLeft || !d.member || d.unreachable !== undefined;

/**
 * Work in the member. Once its Cluster is gone from the federation, a member that cannot be reached
 * is noted for the warnings and the run goes on; before (a half-unjoined member), it is an error.
 */
async function inMember<T>(d: UnjoinData, work: (member: RestClient) => Promise<T>): Promise<T | undefined> {
  try {
    return await work(need(d.member, "the cluster's client"));
  } catch (err) {
    if (!d.cluster) return failedAt('cluster', d.m.memberContextName)(err);
    d.unreachable = err instanceof ConnectionError ? err.reason : errorMessage(err);
    return undefined;
  }
}

const handlePropagated: Step<UnjoinData> = {
  name: 'propagated-copies',
  title: (d) => `${d.req.deletePropagated ? 'Removing' : 'Counting'} what federation ${d.n.federation} propagated into cluster ${d.n.cluster}`,
  // Not joined: only --delete-propagated has anything to do with the copies (a count was given before).
  skip: (d) => memberSkipped(d) || (!d.cluster && !d.req.deletePropagated),
  run: async (d) => {
    const remove = d.req.deletePropagated ?? false;
    const copies = await inMember(d, (member) => propagatedCopies(member, d.n, remove, d.m.memberContextName));
    if (copies === undefined) return { word: 'skipped', detail: `cannot reach it: ${d.unreachable}` };
    if (!remove) d.result.propagatedLeft = copies.count;
    d.copiesLeft = copies.left;
    return remove ? `${objects(copies.count)} removed` : copies.count === 0 ? 'none there' : `${objects(copies.count)}, left running`;
  },
};

const removeMemberIdentity: Step<UnjoinData> = {
  name: 'remove-member-identity',
  title: (d) => `Removing federation ${d.n.federation}'s identity from cluster ${d.n.cluster}`,
  skip: memberSkipped,
  run: async (d) => {
    const removed = await inMember(d, (member) => removeFromMember(member, d.n));
    if (removed === undefined) return { word: 'skipped', detail: `cannot reach it: ${d.unreachable}` };
    if (removed > 0) d.result.removed = true;
    return `${objects(removed)}`;
  },
};

export const unjoinSteps: Step<UnjoinData>[] = [
  checkMembership, // 1. joined? (or left behind by an earlier unjoin); nothing written yet
  removeCluster, // 2. the Cluster: the controller manager stops propagating to it
  removeCredentials, // 3. its credentials, where this federation's join stored them
  removeAgentPlace, // 4. pull mode: the agent's namespace (its identity) and join tokens
  handlePropagated, // 5. the copies in the member: counted, or removed with --delete-propagated
  removeMemberIdentity, // 6. the service account, roles, bindings and admission policy join made there
];

export async function runUnjoin(req: UnjoinRequest): Promise<UnjoinResult> {
  validateClusterName(req, 'unjoin');
  const m = resolveMembership(req.kubeconfig, req);
  const federation = await clientFor(m.federation, req.requestTimeoutMs);
  const member = m.member ? await clientFor(m.member, req.requestTimeoutMs) : undefined;
  const d: UnjoinData = {
    req,
    m,
    n: m.names,
    federation,
    ...(member ? { member } : {}),
    nothingLeft: false,
    recorded: { count: 0, words: '' },
    result: { removed: false, leftBehind: [], propagatedLeft: 0 },
  };
  try {
    await runSteps(unjoinSteps, d, req.out);
  } catch (err) {
    throw err instanceof StepError ? err.cause : err;
  } finally {
    for (const c of [federation, d.host, member]) c?.close();
  }
  const { n } = d;
  const out = req.out;
  if (d.nothingLeft) return d.result;
  if (!member && d.cluster) {
    if (d.cluster.spec.mode === 'Pull') {
      out.warn(
        `context "${m.memberContextName}" does not exist: the agent in cluster ${n.cluster} has lost its identity in the federation and does nothing more, but still runs there; ` +
          `remove it from the cluster's side: kubectl --context=<the cluster's context> delete deployments,configmaps,secrets,serviceaccounts,roles,rolebindings -n ${n.namespace} -l ${memberSelector(n)} (and clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings by the same label)`,
      );
      return { ...d.result, leftBehind: ['Deployment', ...LEFT_BEHIND] };
    }
    out.warn(`context "${m.memberContextName}" does not exist: this federation's service account and RBAC in the cluster were left behind (pass --cluster-context to remove them)`);
    return { ...d.result, leftBehind: LEFT_BEHIND };
  }
  if (d.unreachable !== undefined) {
    out.warn(
      `cannot reach cluster ${n.cluster} (context "${m.memberContextName}"): ${d.unreachable}; left behind in it: ` +
        `ServiceAccount in namespace ${n.namespace}, its roles, bindings and admission policy, labelled ${memberSelector(n)}; ` +
        'run unjoin again once it is back, or delete them by that label',
    );
    if (d.recorded.count > 0) {
      out.warn(
        `left ${objects(d.recorded.count)} the federation propagated into cluster ${n.cluster} running there (by the federation's records: the cluster could not be asked); ` +
          `once it is back, kubectl federation unjoin ${n.cluster} --delete-propagated removes them, or: kubectl --context=${m.memberContextName} delete ${d.recorded.words} --all-namespaces -l ${PROPAGATED_BY_LABEL}=${n.federationId}`,
      );
    }
    return { ...d.result, leftBehind: LEFT_BEHIND, propagatedLeft: d.recorded.count };
  }
  if (d.copiesLeft) out.warn(d.copiesLeft);
  if (member) noteNamespaceLeft(out, n, m.memberContextName);
  return d.result;
}
