// `kubectl federation unjoin`: removes the Cluster, its Secret in the host, and the identity this
// federation created in the member, selected by labels so that another federation's are never
// touched. An unreachable member is warned about; the rest is removed all the same.
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
import { clientFor, federationIdentity, type MembershipFlags, resolveMembership, validateClusterName } from './contexts.ts';

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
async function propagatedCopies(client: RestClient, n: MemberNames, remove: boolean, out: Output, context: string): Promise<number> {
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
  if (remove) out.line(`Removed ${objects(count)} the federation had propagated into cluster ${n.cluster}`);
  else if (count > 0) {
    out.warn(
      `left ${objects(count)} the federation propagated into cluster ${n.cluster} running there (labelled ${selector}); ` +
        `to remove them, unjoin with --delete-propagated, or: kubectl --context=${context} delete ${kindWords(kinds)} --all-namespaces -l ${selector}`,
    );
  }
  return remove ? 0 : count;
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

async function removeFromMember(client: RestClient, n: MemberNames, out: Output): Promise<number> {
  let removed = 0;
  for (const k of memberKinds) {
    const list = await client.get<Listed>(memberKindPath(k, n), {
      query: { labelSelector: memberSelector(n) },
    });
    for (const item of list.items) {
      if (await deleteObject(client, { apiVersion: k.apiVersion, kind: k.kind, metadata: item.metadata })) removed += 1;
    }
  }
  out.line(`Removed ${removed} objects of federation ${n.federation} from cluster ${n.cluster}`);
  return removed;
}

/**
 * A pull member's place in the federation: its namespace (carriers, reports, the agent's identity:
 * its token stops working) and any join token left for it.
 */
async function removePullPlace(federation: RestClient, n: MemberNames, out: Output): Promise<void> {
  const namespace = pullNamespace(n.cluster);
  const ns = await federation.find<{ metadata: { labels?: Record<string, string> } }>(objectPath('v1', 'Namespace', namespace));
  if (ns?.metadata.labels?.[CLUSTER_LABEL] === n.cluster && ns.metadata.labels[FEDERATION_LABEL] === n.federation) {
    await deleteObject(federation, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    out.line(`Removed namespace ${namespace} of its agent from the federation`);
  }
  const tokens = await federation.get<Listed>(collectionPath('v1', 'Secret', 'kube-system'), { query: { labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY},${CLUSTER_LABEL}=${n.cluster}` } });
  for (const t of tokens.items) await deleteObject(federation, { apiVersion: 'v1', kind: 'Secret', metadata: t.metadata });
}

export async function runUnjoin(req: UnjoinRequest): Promise<UnjoinResult> {
  validateClusterName(req, 'unjoin');
  const m = resolveMembership(req.kubeconfig, req);
  const n = m.names;
  const federation = await clientFor(m.federation, req.requestTimeoutMs);
  // The host is asked only for Secrets an older release kept there: connected only then.
  let host: RestClient | undefined;
  /**
   * The member's credentials: in the federation (or, joined by a release before 0.4, in the host),
   * removed only if this federation's join put them there. True when removed.
   */
  const removeStoredCredentials = async (secretName: string): Promise<boolean> => {
    const hostContext = m.host;
    const places: [() => Promise<RestClient>, string, string][] = [[async () => federation, 'federation API server', m.federation.name]];
    if (hostContext) places.push([async () => (host ??= await clientFor(hostContext, req.requestTimeoutMs)), 'host cluster', hostContext.name]);
    for (const [connect, where, context] of places) {
      const client = await connect();
      const secret = await client
        .find<{ metadata: { labels?: Record<string, string> } }>(objectPath('v1', 'Secret', secretName, n.namespace))
        .catch(failedAt(where, context));
      if (secret && secret.metadata.labels?.[FEDERATION_LABEL] === n.federation) {
        await deleteObject(client, { apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: n.namespace } });
        req.out.line(`Removed its credentials from the ${where} (Secret ${n.namespace}/${secretName})`);
        return true;
      }
      if (secret) {
        req.out.warn(`Secret ${n.namespace}/${secretName} in the ${where} was not made by this federation's join; left in place`);
        return false;
      }
    }
    return false;
  };
  const member = m.member ? await clientFor(m.member, req.requestTimeoutMs) : undefined;
  try {
    n.federationId = await federationIdentity(federation, req.kubeconfig, m.federation.name);
    const cluster = await federation
      .find<Cluster>(objectPath(FEDERATION_API_VERSION, 'Cluster', n.cluster))
      .catch(failedAt('federation API server', m.federation.name));
    if (!cluster) {
      // Not joined, but perhaps left behind by an unjoin that was killed or could not reach the
      // member: the stored credentials, and the identity in the member (found by label) whose
      // token still works. Those go now.
      const stored = await removeStoredCredentials(memberObjectNames(n).credentialsSecret);
      let removed = 0;
      if (member && (await countMemberObjects(member, n).catch(failedAt('cluster', m.memberContextName))) > 0) {
        // An unjoin that could not reach the member left its copies: --delete-propagated removes them now.
        if (req.deletePropagated) removed += await propagatedCopies(member, n, true, req.out, m.memberContextName).catch(failedAt('cluster', m.memberContextName));
        removed += await removeFromMember(member, n, req.out).catch(failedAt('cluster', m.memberContextName));
        noteNamespaceLeft(req.out, n, m.memberContextName);
      }
      if (stored || removed > 0) return { removed: true, leftBehind: [], propagatedLeft: 0 };
      if (req.ignoreNotFound) {
        req.out.line(`Cluster ${n.cluster} is not joined to federation ${n.federation}; nothing to do`);
        return { removed: false, leftBehind: [], propagatedLeft: 0 };
      }
      throw new UserError(`cluster "${n.cluster}" is not joined to federation ${n.federation} (context "${m.federation.name}"); pass --ignore-not-found to accept that`);
    }
    const recorded = await recordedCopies(federation, n.cluster);
    await deleteObject(federation, { apiVersion: FEDERATION_API_VERSION, kind: 'Cluster', metadata: { name: n.cluster } });
    req.out.line(`Removed cluster ${n.cluster} from federation ${n.federation}`);

    const secretName = cluster.spec.secretRef?.name;
    if (secretName) await removeStoredCredentials(secretName);
    if (cluster.spec.mode === 'Pull') await removePullPlace(federation, n, req.out);

    if (!member) {
      if (cluster.spec.mode === 'Pull') {
        req.out.warn(
          `context "${m.memberContextName}" does not exist: the agent in cluster ${n.cluster} has lost its identity in the federation and does nothing more, but still runs there; ` +
            `remove it from the cluster's side: kubectl --context=<the cluster's context> delete deployments,configmaps,secrets,serviceaccounts,roles,rolebindings -n ${n.namespace} -l ${memberSelector(n)} (and clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings by the same label)`,
        );
        return { removed: true, leftBehind: ['Deployment', ...LEFT_BEHIND], propagatedLeft: 0 };
      }
      req.out.warn(`context "${m.memberContextName}" does not exist: this federation's service account and RBAC in the cluster were left behind (pass --cluster-context to remove them)`);
      return { removed: true, leftBehind: LEFT_BEHIND, propagatedLeft: 0 };
    }
    let propagatedLeft = 0;
    try {
      propagatedLeft = await propagatedCopies(member, n, req.deletePropagated ?? false, req.out, m.memberContextName);
      await removeFromMember(member, n, req.out);
      noteNamespaceLeft(req.out, n, m.memberContextName);
    } catch (err) {
      const reason = err instanceof ConnectionError ? err.reason : errorMessage(err);
      req.out.warn(
        `cannot reach cluster ${n.cluster} (context "${m.memberContextName}"): ${reason}; left behind in it: ` +
          `ServiceAccount in namespace ${n.namespace}, its roles, bindings and admission policy, labelled ${memberSelector(n)}; ` +
          'run unjoin again once it is back, or delete them by that label',
      );
      if (recorded.count > 0) {
        req.out.warn(
          `left ${objects(recorded.count)} the federation propagated into cluster ${n.cluster} running there (by the federation's records: the cluster could not be asked); ` +
            `once it is back, kubectl federation unjoin ${n.cluster} --delete-propagated removes them, or: kubectl --context=${m.memberContextName} delete ${recorded.words} --all-namespaces -l ${PROPAGATED_BY_LABEL}=${n.federationId}`,
        );
      }
      return { removed: true, leftBehind: LEFT_BEHIND, propagatedLeft: recorded.count };
    }
    return { removed: true, leftBehind: [], propagatedLeft };
  } finally {
    for (const c of [federation, host, member]) c?.close();
  }
}
