import type { V1Secret } from '@kubernetes/client-node';
import { UserError } from '../../errors.ts';
import { credentialsFor } from '../../kube/credentials.ts';
import { kubeconfigText } from '../../manifests/kubeconfig.ts';
import {
  memberClusterRole,
  memberClusterRoleBinding,
  memberNamespace,
  memberObjectNames,
  memberServiceAccount,
  memberTokenSecret,
} from '../../manifests/member.ts';
import { MEMBER_SECRET_KEYS } from '../../member-credentials.ts';
import { discoverResources } from '../../kube/discovery.ts';
import { builtinResources, resolveKinds } from '../../propagation/kinds.ts';
import { REDACTED } from '../../print.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll, WaitTimeoutError } from '../../wait.ts';
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
    const target = d.targets.member;
    const propagated = await propagatedResources(d);
    // The namespace may be the federation's own (a host joined as a member): created if missing,
    // never re-applied, so the labels init gave it stay.
    if (!(await target.read('v1', 'Namespace', n.namespace))) await target.apply(memberNamespace(n));
    const role = memberClusterRole(n, propagated);
    // A re-join that finds the role other than join grants (edited by hand, or joined with other
    // --propagated-kinds) says it set it again, rather than that everything was in place.
    if (d.alreadyJoined && !target.dryRun) {
      const before = await target.read<{ rules?: unknown }>('rbac.authorization.k8s.io/v1', 'ClusterRole', role.metadata.name);
      if (rulesText(before?.rules) !== rulesText(role.rules)) {
        d.repaired.push(`the federation's role in the member (ClusterRole ${role.metadata.name}) was not what join grants: set it again`);
      }
    }
    await Promise.all([target.apply(memberServiceAccount(n)), target.apply(role), target.apply(memberClusterRoleBinding(n))]);
    const name = memberObjectNames(n).tokenSecret;
    // A re-join that finds the token Secret gone (revoked) says it made a new one.
    if (d.alreadyJoined && !target.dryRun && !(await target.read<V1Secret>('v1', 'Secret', name, n.namespace))) {
      d.repaired.push(`the member's token Secret ${n.namespace}/${name} was gone (revoked?): made a new token`);
    }
    await target.apply(memberTokenSecret(n));
    if (target.dryRun) {
      d.secretData = { [MEMBER_SECRET_KEYS.caCert]: caFromKubeconfig ?? REDACTED, [MEMBER_SECRET_KEYS.token]: REDACTED };
      return undefined;
    }
    try {
      const secret = await poll(
        async () => {
          const s = await target.read<V1Secret>('v1', 'Secret', name, n.namespace);
          return s?.data?.token ? done(s) : notYet('the token controller has not filled it yet');
        },
        { what: `the token of Secret ${n.namespace}/${name} in cluster ${n.cluster}`, timeoutMs: 30_000, intervalMs: 250 },
      );
      const decode = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString();
      d.secretData = {
        // The kubeconfig's CA is the one that signed the API server's certificate; the token
        // Secret's CA is the cluster's root CA, which is not always the same.
        [MEMBER_SECRET_KEYS.caCert]: caFromKubeconfig ?? decode('ca.crt'),
        [MEMBER_SECRET_KEYS.token]: decode('token'),
      };
    } catch (err) {
      if (err instanceof WaitTimeoutError) {
        throw new UserError(`${err.message}: is kube-controller-manager (its token controller) running in cluster ${n.cluster}?`);
      }
      throw err;
    }
    return undefined;
  },
};

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
async function propagatedResources(d: JoinData): Promise<{ group: string; plural: string }[]> {
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
