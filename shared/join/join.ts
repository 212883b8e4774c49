// `kubectl federation join`: the whole flow in one place.
import { UserError } from '../errors.ts';
import type { Kubeconfig } from '../kubeconfig.ts';
import { usesCredentialPlugin } from '../kube/credentials.ts';
import type { KubeObject } from '../kube/resources.ts';
import { LiveTarget, RecordingTarget } from '../kube/target.ts';
import { MEMBER_TOKEN_LIFETIME_S } from '../member-credentials.ts';
import type { Output } from '../output.ts';
import { propagatedKindsFlag } from '../propagation/kinds.ts';
import { runSteps, type Step, StepError } from '../steps.ts';
import { clientFor, type MembershipFlags, requireMember, resolveMembership, validateClusterName } from './contexts.ts';
import type { JoinData } from './data.ts';
import { checkClusters } from './steps/check-clusters.ts';
import { createCluster } from './steps/create-cluster.ts';
import { createMemberIdentity } from './steps/create-member-identity.ts';
import { storeMemberCredentials } from './steps/store-member-credentials.ts';

export const joinSteps: Step<JoinData>[] = [
  checkClusters, // 1. federation and member exist and answer; nothing written yet
  createMemberIdentity, // 2. a service account for the federation in the member (or the context's own credentials)
  storeMemberCredentials, // 3. those credentials in a Secret of the federation's namespace
  createCluster, // 4. the Cluster in the federation
];

export interface JoinRequest extends MembershipFlags {
  kubeconfig: Kubeconfig;
  useKubeconfigCredentials: boolean;
  /** The first token's lifetime; default a week (the controller manager renews it half-way). */
  tokenLifetimeSeconds?: number;
  /** Default: the controller manager's default list. */
  propagatedKinds?: string[];
  clusterLabels?: Record<string, string>;
  /** --cluster-server: the address the federation uses instead of the context's. */
  clusterServer?: string;
  dryRun: boolean;
  out: Output;
}

export interface JoinResult {
  cluster: string;
  federation: string;
  /** The federation's context, and whether it is the kubeconfig's current one (what to tell kubectl). */
  federationContext: string;
  federationIsCurrent: boolean;
  server: string;
  alreadyJoined: boolean;
  repaired: string[];
  /** What was (or, in a dry run, would be) applied: member, then federation. */
  objects: KubeObject[];
  requests: number;
}

export async function runJoin(req: JoinRequest): Promise<JoinResult> {
  validateClusterName(req, 'join');
  const m = requireMember(resolveMembership(req.kubeconfig, req), req.kubeconfig);
  // Before any credentials are fetched: an exec plugin must not even run for a join it cannot serve.
  if (req.useKubeconfigCredentials && usesCredentialPlugin(m.member)) {
    throw new UserError(
      `context "${m.member.name}" gets its credentials from an exec plugin or auth provider, which cannot run inside the cluster: join without --use-kubeconfig-credentials (a service account is created for the federation)`,
    );
  }
  const [federation, member] = await Promise.all([clientFor(m.federation, req.requestTimeoutMs), clientFor(m.member, req.requestTimeoutMs)]);
  const recording = { federation: new RecordingTarget(), member: new RecordingTarget() };
  const data: JoinData = {
    kubeconfig: req.kubeconfig,
    m,
    useKubeconfigCredentials: req.useKubeconfigCredentials,
    out: req.out,
    timeoutMs: req.requestTimeoutMs,
    propagatedKinds: req.propagatedKinds ?? propagatedKindsFlag(undefined),
    tokenLifetimeSeconds: req.tokenLifetimeSeconds ?? MEMBER_TOKEN_LIFETIME_S,
    clusterLabels: req.clusterLabels ?? {},
    ...(req.clusterServer !== undefined ? { clusterServer: req.clusterServer } : {}),
    clients: { federation, member },
    targets: req.dryRun ? recording : { federation: new LiveTarget(federation), member: new LiveTarget(member) },
    server: '',
    alreadyJoined: false,
    repaired: [],
  };
  try {
    await runSteps(joinSteps, data, req.out);
  } catch (err) {
    throw err instanceof StepError ? err.cause : err;
  } finally {
    for (const c of [federation, member]) c.close();
  }
  return {
    cluster: m.names.cluster,
    federation: m.names.federation,
    federationContext: m.federation.name,
    federationIsCurrent: req.kubeconfig.currentContext === m.federation.name,
    server: data.server,
    alreadyJoined: data.alreadyJoined,
    repaired: data.repaired,
    objects: [...recording.member.applied, ...recording.federation.applied],
    requests: federation.requests + member.requests,
  };
}
