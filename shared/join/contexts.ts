// Which clusters join and unjoin talk to: the federation (current context unless --context), the
// member (--cluster-context, else the cluster's name), and for unjoin's clean-up of older releases
// the host (what init recorded in the federation's context, unless --host-cluster-context).
import { readFederationId } from '../member-credentials.ts';
import { CONTEXT_EXTENSION, DEFAULT_NAMESPACE, FEDERATION_API_VERSION, type FederationContextExtension } from '../constants.ts';
import { isDNSLabel } from '../names.ts';
import { InputError, UserError } from '../errors.ts';
import type { Kubeconfig, ResolvedContext } from '../kubeconfig.ts';
import { credentialsFor } from '../kube/credentials.ts';
import { pluginCredentials } from '../kube/plugin-credentials.ts';
import { describeFailure } from '../kube/failures.ts';
import { RestClient } from '../kube/rest.ts';
import type { MemberNames } from '../manifests/member.ts';

export interface MembershipFlags {
  cluster: string;
  clusterContext?: string;
  federationContext?: string;
  hostContext?: string;
  namespace?: string;
  requestTimeoutMs: number;
}

export interface Membership {
  names: MemberNames;
  federation: ResolvedContext;
  /** Where init put the federation, when the kubeconfig knows it. */
  host: ResolvedContext | undefined;
  member: ResolvedContext | undefined;
  memberContextName: string;
}

/** A membership whose cluster's context exists: what join works with from its first step on. */
export type JoinMembership = Membership & { member: ResolvedContext };

/** The cluster's context must exist to join it: checked once, before any step, so no step asserts it. */
export function requireMember(m: Membership, kubeconfig: Kubeconfig): JoinMembership {
  if (m.member) return { ...m, member: m.member };
  throw new UserError(
    `context "${m.memberContextName}" does not exist in ${kubeconfig.describePaths()} (contexts: ${kubeconfig.contextNames().join(', ')}): name the cluster's context with --cluster-context`,
  );
}

/** A DNS-1123 label made from any context name (gke_project_zone_name -> gke-project-zone-name). */
export function suggestName(context: string): string {
  const s = context.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return s || 'cluster';
}

export function validateClusterName(flags: MembershipFlags, verb: string): void {
  if (isDNSLabel(flags.cluster)) return;
  const context = flags.clusterContext ?? flags.cluster;
  throw new InputError(
    `"${flags.cluster}" is not a valid cluster name (a DNS-1123 label: lower-case letters, digits and '-'); ` +
      `give the cluster a valid name and name its context: kubectl federation ${verb} --cluster-context=${context} ${suggestName(flags.cluster)}`,
  );
}

/** Contexts that init wrote (they carry the federation extension): named in error messages. */
export function federationContexts(kc: Kubeconfig): string[] {
  return kc.contextNames().filter((c) => kc.contextExtension(c, CONTEXT_EXTENSION) !== undefined);
}

export function resolveMembership(kc: Kubeconfig, flags: MembershipFlags): Membership {
  const federation = kc.resolve(flags.federationContext, '--context');
  const ext = kc.contextExtension<FederationContextExtension>(federation.name, CONTEXT_EXTENSION);
  // Only unjoin looks at the host (Secrets that releases before 0.4 kept there): optional.
  const hostName = flags.hostContext ?? ext?.hostContext;
  const host = flags.hostContext !== undefined || (hostName && kc.context(hostName)) ? kc.resolve(hostName, '--host-cluster-context') : undefined;
  const memberContextName = flags.clusterContext ?? flags.cluster;
  const member = kc.context(memberContextName) ? kc.resolve(memberContextName, '--cluster-context') : undefined;
  return {
    names: {
      federation: ext?.federation ?? federation.name,
      federationId: '',
      cluster: flags.cluster,
      namespace: flags.namespace ?? ext?.namespace ?? DEFAULT_NAMESPACE,
    },
    federation,
    host,
    member,
    memberContextName,
  };
}

export async function clientFor(ctx: ResolvedContext, timeoutMs: number): Promise<RestClient> {
  return new RestClient(await credentialsFor(ctx, (c, creds) => pluginCredentials(c, creds, timeoutMs)), timeoutMs);
}


/**
 * Checks that the federation context is a federation API server and returns its identity (a
 * digest of its kube-system namespace's UID, as Karmada identifies clusters).
 */
export async function federationIdentity(client: RestClient, kc: Kubeconfig, ctx: string): Promise<string> {
  try {
    const groups = await client.find<unknown>(`/apis/${FEDERATION_API_VERSION}`);
    if (!groups) {
      const known = federationContexts(kc).filter((c) => c !== ctx);
      throw new UserError(
        `context "${ctx}" is not a federation API server (it serves no ${FEDERATION_API_VERSION} Cluster API); ` +
          (known.length > 0 ? `federation contexts in this kubeconfig: ${known.join(', ')}: pass --context` : 'run kubectl federation init first, or pass --context'),
      );
    }
    return await readFederationId(client);
  } catch (err) {
    throw describeFailure(err, 'federation API server', ctx);
  }
}
