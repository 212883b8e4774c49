import { UserError } from '../../errors.ts';
import { credentialsFor } from '../../kube/credentials.ts';
import { kubeconfigText } from '../../manifests/kubeconfig.ts';
import {
  memberClusterRole,
  memberClusterRoleBinding,
  memberGuardBinding,
  memberGuardPolicy,
  memberNamespace,
  memberObjectNames,
  memberServiceAccount,
  memberTokenRole,
  memberTokenRoleBinding,
  memberWorkloadRole,
} from '../../manifests/member.ts';
import { MEMBER_SECRET_KEYS, requestToken } from '../../member-credentials.ts';
import { objectPath } from '../../kube/resources.ts';
import { isNotFound, RestClient } from '../../kube/rest.ts';
import { discoverResources } from '../../kube/discovery.ts';
import { builtinResources, resolveKinds } from '../../propagation/kinds.ts';
import { REDACTED } from '../../print.ts';
import type { Step } from '../../steps.ts';
import type { JoinData } from '../data.ts';

/** Step 2: the federation's own identity in the member, and the credentials it hands out. */
export const createMemberIdentity: Step<JoinData> = {
  name: 'create-member-identity',
  title: (d) =>
    d.useKubeconfigCredentials
      ? `Reading the credentials of context "${d.m.memberContextName}"`
      : `Creating a service account for the federation in cluster ${d.m.names.cluster}`,
  run: async (d) => {
    const member = d.m.member;
    const caFromKubeconfig = (await credentialsFor(member, async () => {})).ca?.toString();
    if (d.useKubeconfigCredentials) {
      const creds = await credentialsFor(member);
      d.secretData = {
        [MEMBER_SECRET_KEYS.kubeconfig]: kubeconfigText({
          name: d.m.names.cluster,
          server: d.server,
          caCert: creds.ca?.toString() ?? '',
          ...(creds.cert ? { clientCert: creds.cert.toString() } : {}),
          ...(creds.key ? { clientKey: creds.key.toString() } : {}),
          ...(creds.token ? { token: creds.token } : {}),
        }),
      };
      return undefined;
    }
    const n = d.m.names;
    const names = memberObjectNames(n);
    const target = d.targets.member;
    const [propagated, namespace] = await Promise.all([propagatedResources(d), target.read('v1', 'Namespace', n.namespace)]);
    // The namespace may be the federation's own (a host joined as a member): created if missing,
    // never re-applied, so the labels init gave it stay.
    if (!namespace) await target.apply(memberNamespace(n));
    const roles = [memberClusterRole(n, propagated), memberWorkloadRole(n, propagated)];
    // A re-join that finds a role other than join grants (edited by hand, or joined with other
    // --propagated-kinds) says it set it again, rather than that everything was in place.
    if (d.alreadyJoined && !target.dryRun) {
      for (const role of roles) {
        const before = await target.read<{ rules?: unknown }>('rbac.authorization.k8s.io/v1', 'ClusterRole', role.metadata.name);
        if (rulesText(before?.rules) !== rulesText(role.rules)) {
          d.repaired.push(`the federation's role in the member (ClusterRole ${role.metadata.name}) was not what join grants: set it again`);
        }
      }
    }
    // The bounds first: the identity can do nothing before its admission policy holds (the policy
    // and its binding together: both are in place before the identity gets any right).
    await Promise.all([target.apply(memberGuardPolicy(n)), target.apply(memberGuardBinding(n))]);
    await Promise.all([target.apply(memberServiceAccount(n)), ...roles.map((r) => target.apply(r)), target.apply(memberTokenRole(n))]);
    await Promise.all([target.apply(memberClusterRoleBinding(n)), target.apply(memberTokenRoleBinding(n))]);
    if (target.dryRun) {
      d.secretData = { [MEMBER_SECRET_KEYS.caCert]: caFromKubeconfig ?? REDACTED, [MEMBER_SECRET_KEYS.token]: REDACTED };
      return undefined;
    }
    if (d.alreadyJoined) await replaceOldToken(d);
    // An expiring token, renewed by the controller manager; every join asks for a fresh one.
    const { token } = await requestToken(d.clients.member, n.namespace, names.serviceAccount, d.tokenLifetimeSeconds);
    d.secretData = {
      // The kubeconfig's CA is the one that signed the API server's certificate.
      [MEMBER_SECRET_KEYS.caCert]: caFromKubeconfig ?? (await clusterRootCA(d)),
      [MEMBER_SECRET_KEYS.token]: token,
    };
    return undefined;
  },
};

/**
 * On a re-join: the non-expiring token Secret of earlier joins is deleted (its token revoked), and a
 * token the federation held that the member no longer accepts (expired, revoked) is said to be replaced.
 */
async function replaceOldToken(d: JoinData): Promise<void> {
  const n = d.m.names;
  const names = memberObjectNames(n);
  const legacy = await d.clients.member.find(objectPath('v1', 'Secret', names.tokenSecret, n.namespace));
  if (legacy) {
    await d.clients.member.request('DELETE', objectPath('v1', 'Secret', names.tokenSecret, n.namespace)).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    d.repaired.push(`the member's non-expiring token Secret ${n.namespace}/${names.tokenSecret} is deleted: the federation uses expiring tokens, renewed by its controller manager`);
    return;
  }
  const stored = await d.clients.federation.find<{ data?: Record<string, string> }>(objectPath('v1', 'Secret', names.credentialsSecret, n.namespace));
  const token = stored?.data?.[MEMBER_SECRET_KEYS.token];
  if (!token) return;
  // The member's address and trust from the context; the stored token in place of its user.
  const { server, ca, insecureSkipTLSVerify, tlsServerName, proxy } = await credentialsFor(d.m.member, async () => {});
  const probe = new RestClient(
    { server, token: Buffer.from(token, 'base64').toString(), ...(ca ? { ca } : {}), ...(insecureSkipTLSVerify ? { insecureSkipTLSVerify } : {}), ...(tlsServerName ? { tlsServerName } : {}), ...(proxy ? { proxy } : {}) },
    d.timeoutMs,
  );
  try {
    const res = await probe.probe('/api', d.timeoutMs);
    if (res.status === 401) d.repaired.push(`the token the federation held is no longer accepted by cluster ${n.cluster} (expired or revoked): issued a new one`);
  } finally {
    probe.close();
  }
}

/** The cluster's root CA, as every namespace's kube-root-ca.crt publishes it (a kubeconfig without one trusts the system's). */
async function clusterRootCA(d: JoinData): Promise<string> {
  const cm = await d.clients.member.find<{ data?: Record<string, string> }>(objectPath('v1', 'ConfigMap', 'kube-root-ca.crt', d.m.names.namespace));
  return cm?.data?.['ca.crt'] ?? '';
}

/** RBAC rules as text that two equal rule lists share whatever their keys' order or empty lists. */
function rulesText(rules: unknown): string {
  const list = Array.isArray(rules) ? (rules as Record<string, unknown>[]) : [];
  return JSON.stringify(
    list.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => !(Array.isArray(v) && v.length === 0)).sort(([a], [b]) => (a < b ? -1 : 1)))),
  );
}

/**
 * The kinds of --propagated-kinds, for the member's role: built-in ones known; others as the member
 * serves them, or, when it does not yet, as the federation does (the federation sends the CRD first,
 * and the role must already allow its objects when they follow).
 */
async function propagatedResources(d: JoinData): Promise<{ group: string; plural: string; namespaced: boolean }[]> {
  const known = resolveKinds(d.propagatedKinds, builtinResources());
  if (known.unknown.length === 0) return known.found;
  const inMember = resolveKinds(d.propagatedKinds, await discoverResources(d.clients.member, d.timeoutMs));
  if (inMember.unknown.length === 0) return inMember.found;
  const inFederation = resolveKinds(inMember.unknown, await discoverResources(d.clients.federation, d.timeoutMs));
  if (inFederation.unknown.length > 0) {
    throw new UserError(
      `--propagated-kinds: neither cluster ${d.m.names.cluster} nor the federation serves ${inFederation.unknown.map((w) => `"${w}"`).join(', ')}; apply its CustomResourceDefinition to the federation first (it is propagated to the members), or write the kind as Kind.group (e.g. Widget.example.com)`,
    );
  }
  return [...inMember.found, ...inFederation.found];
}
