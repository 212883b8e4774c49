// `kubectl federation token create CLUSTER`: the federation's side of a pull-mode join, the whole
// story in one place. Run against the federation; prints the one command to run against the member
// (as kubeadm token create --print-join-command does). The token joins CLUSTER and no other: its
// group may ask for that cluster's agent token only, and it expires (default 1h).
import { UserError } from '../errors.ts';
import type { Kubeconfig } from '../kubeconfig.ts';
import { credentialsFor } from '../kube/credentials.ts';
import { type Target } from '../kube/target.ts';
import type { MemberNames } from '../manifests/member.ts';
import { agentAccount, agentRole, agentRoleBinding, bootstrapRole, bootstrapRoleBinding, clusterInfo, clusterInfoRole, clusterInfoRoleBinding, pullClusterObject, pullNamespaceObject } from '../manifests/pull.ts';
import type { Cluster } from '../manifests/federation-api.ts';
import { FEDERATION_API_VERSION } from '../constants.ts';
import type { Output } from '../output.ts';
import { pullNamespace } from '../pull/names.ts';
import { type BootstrapToken, bootstrapTokenSecret, caCertHash, newBootstrapToken, tokenText } from '../pull/bootstrap.ts';
import { REDACTED } from '../print.ts';
import type { RestClient } from '../kube/rest.ts';
import { need, runSteps, type Step } from '../steps.ts';
import type { ResolvedContext } from '../kubeconfig.ts';

export interface TokenData {
  readonly kubeconfig: Kubeconfig;
  readonly federationContext: ResolvedContext;
  readonly client: RestClient;
  readonly target: Target;
  readonly out: Output;
  readonly names: MemberNames;
  readonly ttlMs: number;
  readonly clusterLabels: Record<string, string>;
  /** --federation-server: the address the member reaches the federation at (default: the context's). */
  readonly federationServer?: string;
  ca?: string;
  token?: BootstrapToken;
  expires?: Date;
}

/** 1. The federation answers, CLUSTER is free or already a pull member, and the CA the member must trust is known. */
const checkFederation: Step<TokenData> = {
  name: 'check-federation',
  title: (d) => `Checking federation ${d.names.federation} for cluster ${d.names.cluster}`,
  run: async (d) => {
    const existing = await d.client.find<Cluster>(`/apis/${FEDERATION_API_VERSION}/clusters/${d.names.cluster}`);
    if (existing && existing.spec.mode !== 'Pull') {
      throw new UserError(`cluster "${d.names.cluster}" is already joined in push mode: unjoin it first to join it in pull mode, or make a token for another name`);
    }
    const creds = await credentialsFor(d.federationContext, async () => {});
    const ca = creds.ca?.toString();
    if (!ca || !/BEGIN CERTIFICATE/.test(ca)) {
      throw new UserError(`context "${d.federationContext.name}" holds no CA certificate for the federation (certificate-authority-data), so no hash can be given to the member; use the context init wrote`);
    }
    d.ca = ca;
    return existing ? 'already a pull member: a new token for it' : undefined;
  },
};

/** 2. The member's namespace in the federation: its agent's identity and rights, the join token's one right, the Cluster. */
const createMemberNamespace: Step<TokenData> = {
  name: 'create-member-namespace',
  title: (d) => `Creating namespace ${pullClusterNamespace(d)} for the agent of cluster ${d.names.cluster}`,
  run: async (d) => {
    const n = d.names;
    await d.target.apply(pullNamespaceObject(n));
    await Promise.all([d.target.apply(agentAccount(n)), d.target.apply(agentRole(n)), d.target.apply(bootstrapRole(n)), d.target.apply(clusterInfo(n.federation, need(d.ca, 'the CA'), n.federationId)), d.target.apply(clusterInfoRole())]);
    await Promise.all([d.target.apply(agentRoleBinding(n)), d.target.apply(bootstrapRoleBinding(n)), d.target.apply(clusterInfoRoleBinding())]);
    await d.target.apply(pullClusterObject(n, d.clusterLabels));
  },
};

/** 3. The bootstrap token: a Secret in the federation's kube-system, checked by its API server. */
const createToken: Step<TokenData> = {
  name: 'create-token',
  title: (d) => `Creating a join token for cluster ${d.names.cluster}`,
  run: async (d) => {
    d.token = newBootstrapToken();
    d.expires = new Date(Date.now() + d.ttlMs);
    await d.target.apply(bootstrapTokenSecret(d.token, d.names.cluster, d.expires));
    return `expires ${d.expires.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  },
};

const pullClusterNamespace = (d: TokenData) => pullNamespace(d.names.cluster);

export const tokenSteps: Step<TokenData>[] = [checkFederation, createMemberNamespace, createToken];

export async function runTokenCreate(d: TokenData): Promise<{ command: string; expires: Date }> {
  await runSteps(tokenSteps, d, d.out, { dryRun: d.target.dryRun });
  const server = d.federationServer ?? d.federationContext.cluster.server;
  const token = d.target.dryRun ? REDACTED : tokenText(need(d.token, 'the token'));
  const command = `kubectl federation join ${d.names.cluster} --pull --federation-server=${server} --token=${token} --discovery-token-ca-cert-hash=${caCertHash(need(d.ca, 'the CA'))}`;
  return { command, expires: need(d.expires, 'the expiry') };
}
