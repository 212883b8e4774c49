// `kubectl federation join CLUSTER --pull`: joining from the member's side only, as kubeadm join
// does, the whole flow in one place. Talks to the member (its context) and to the federation's
// public address with the join token; never to the host cluster, and the federation never calls
// the member. The federation's CA is checked against the hash given before the token is sent.
import { UserError } from '../errors.ts';
import { ApiError, ConnectionError, RestClient } from '../kube/rest.ts';
import type { Target } from '../kube/target.ts';
import type { ResolvedContext } from '../kubeconfig.ts';
import { discoverResources } from '../kube/discovery.ts';
import { rolledOut } from '../kube/rollout.ts';
import { digest } from '../manifests/credentials.ts';
import { kubeconfigText } from '../manifests/kubeconfig.ts';
import {
  type MemberNames,
  memberClusterRole,
  memberClusterRoleBinding,
  memberGuardBinding,
  memberGuardPolicy,
  memberNamespace,
  memberServiceAccount,
  memberWorkloadRole,
} from '../manifests/member.ts';
import { agentCode, agentDeployment, agentKubeconfigRole, agentKubeconfigRoleBinding, agentKubeconfigSecret, agentObjectNames, CLUSTER_INFO_KEYS } from '../manifests/pull.ts';
import { requestToken } from '../member-credentials.ts';
import type { Output } from '../output.ts';
import { REDACTED } from '../print.ts';
import { builtinResources, resolveKinds } from '../propagation/kinds.ts';
import { type BootstrapToken, certificateWithHash, tokenText } from '../pull/bootstrap.ts';
import { AGENT_ACCOUNT, CLUSTER_INFO, pullNamespace } from '../pull/names.ts';
import { controllerBundle } from '../init/controller-bundle.ts';
import { need, runSteps, type Step } from '../steps.ts';
import { WaitTimeoutError } from '../wait.ts';

export interface PullJoinData {
  readonly cluster: string;
  readonly member: ResolvedContext;
  readonly memberClient: RestClient;
  readonly target: Target;
  readonly out: Output;
  readonly timeoutMs: number;
  readonly waitTimeoutMs: number;
  readonly federationServer: string;
  readonly token: BootstrapToken;
  readonly caHash: string;
  readonly propagatedKinds: string[];
  readonly image: string;
  readonly pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** The member namespace of the federation's identity and agent (default federation-system). */
  readonly namespace: string;
  readonly tokenLifetimeSeconds: number;
  ca?: string;
  names?: MemberNames;
  agentToken?: string;
}

/** 1. The federation's CA, fetched without credentials and trusted only if its key has the hash given. */
const discoverFederation: Step<PullJoinData> = {
  name: 'discover-federation',
  title: (d) => `Checking the federation at ${d.federationServer} against the CA hash`,
  run: async (d) => {
    const anonymous = new RestClient({ server: d.federationServer, insecureSkipTLSVerify: true }, d.timeoutMs);
    let info: { data?: Record<string, string> } | undefined;
    try {
      info = await anonymous.find(`/api/v1/namespaces/${CLUSTER_INFO.namespace}/configmaps/${CLUSTER_INFO.name}`);
    } catch (err) {
      if (err instanceof ConnectionError) throw new UserError(`cannot reach the federation at ${d.federationServer}: ${err.reason}; check --federation-server (the address the member reaches the federation at)`);
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        throw new UserError(`the federation at ${d.federationServer} does not publish its CA (${err.status}): run kubectl federation token create ${d.cluster} on the federation first`);
      }
      throw err;
    } finally {
      anonymous.close();
    }
    if (!info?.data?.[CLUSTER_INFO_KEYS.ca]) throw new UserError(`the federation at ${d.federationServer} publishes no CA (${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}): run kubectl federation token create ${d.cluster} on the federation first`);
    const data = info.data;
    const ca = certificateWithHash(data[CLUSTER_INFO_KEYS.ca] ?? '', d.caHash);
    if (!ca) {
      throw new UserError(`the server at ${d.federationServer} publishes a CA whose public key does not have the hash ${d.caHash}: nothing was sent to it; check --discovery-token-ca-cert-hash and --federation-server (token create prints both)`);
    }
    // The server must hold a certificate of that CA, too: from here on, every request checks it.
    const verified = new RestClient({ server: d.federationServer, ca: Buffer.from(ca) }, d.timeoutMs);
    try {
      await verified.probe('/version', d.timeoutMs);
    } catch (err) {
      throw new UserError(`the federation at ${d.federationServer} does not present a certificate of the CA with hash ${d.caHash} (${(err as Error).message}): nothing was sent to it`);
    } finally {
      verified.close();
    }
    d.ca = ca;
    d.names = { federation: data[CLUSTER_INFO_KEYS.federation] ?? 'federation', federationId: data[CLUSTER_INFO_KEYS.federationId] ?? '', cluster: d.cluster, namespace: d.namespace };
    if (!d.names.federationId) throw new UserError(`the federation at ${d.federationServer} does not name its identity in ${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}: run kubectl federation token create ${d.cluster} with this release`);
    return `federation ${d.names.federation}`;
  },
};

/** 2. With the join token, the agent's own token (the token's one right); in a dry run, nothing is asked. */
const requestAgentToken: Step<PullJoinData> = {
  name: 'request-agent-token',
  title: (d) => `Asking the federation for the credentials of cluster ${d.cluster}'s agent`,
  run: async (d) => {
    if (d.target.dryRun) {
      d.agentToken = REDACTED;
      return undefined;
    }
    const client = new RestClient({ server: d.federationServer, ca: Buffer.from(need(d.ca, 'the CA')), token: tokenText(d.token) }, d.timeoutMs);
    try {
      d.agentToken = (await requestToken(client, pullNamespace(d.cluster), AGENT_ACCOUNT, d.tokenLifetimeSeconds)).token;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw new UserError(`the federation refused the join token (expired, deleted or mistyped): make a new one with kubectl federation token create ${d.cluster}`);
      if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
        throw new UserError(`the join token does not join cluster "${d.cluster}" (a token joins the one cluster it was made for): make one with kubectl federation token create ${d.cluster}`);
      }
      throw err;
    } finally {
      client.close();
    }
    return undefined;
  },
};

/** 3. In the member, the same bounded identity push gives the federation: the agent runs as it. */
const createMemberIdentity: Step<PullJoinData> = {
  name: 'create-member-identity',
  title: (d) => `Creating the agent's identity in cluster ${d.cluster}`,
  run: async (d) => {
    const n = need(d.names, 'the federation');
    const known = resolveKinds(d.propagatedKinds, builtinResources());
    const propagated = known.unknown.length === 0 ? known : resolveKinds(d.propagatedKinds, await discoverResources(d.memberClient, d.timeoutMs));
    if (propagated.unknown.length > 0) throw new UserError(`--propagated-kinds: cluster ${d.cluster} does not serve ${propagated.unknown.map((w) => `"${w}"`).join(', ')}; apply its CustomResourceDefinition in the member first, or write the kind as Kind.group`);
    if (!(await d.target.read('v1', 'Namespace', n.namespace))) await d.target.apply(memberNamespace(n));
    // The bounds first, as push join sets them: the identity can do nothing before they hold.
    await Promise.all([d.target.apply(memberGuardPolicy(n)), d.target.apply(memberGuardBinding(n))]);
    await Promise.all([d.target.apply(memberServiceAccount(n)), d.target.apply(memberClusterRole(n, propagated.found)), d.target.apply(memberWorkloadRole(n, propagated.found)), d.target.apply(agentKubeconfigRole(n))]);
    await Promise.all([d.target.apply(memberClusterRoleBinding(n)), d.target.apply(agentKubeconfigRoleBinding(n))]);
  },
};

/** 4. The agent: its federation kubeconfig, its code, its Deployment (the stock Node.js image). */
const installAgent: Step<PullJoinData> = {
  name: 'install-agent',
  title: (d) => `Deploying the agent in cluster ${d.cluster}`,
  run: async (d) => {
    const n = need(d.names, 'the federation');
    const kubeconfig = kubeconfigText({ name: n.federation, server: d.federationServer, caCert: need(d.ca, 'the CA'), token: need(d.agentToken, 'the agent token') });
    const code = agentCode(n, await controllerBundle());
    await Promise.all([d.target.apply(agentKubeconfigSecret(n, kubeconfig)), d.target.apply(code.configMap)]);
    await d.target.apply(agentDeployment({ names: n, server: d.federationServer, image: d.image, pullPolicy: d.pullPolicy }, code, digest(d.federationServer, need(d.ca, 'the CA'))));
  },
};

/** 5. Ready once the agent's first heartbeat reached the federation (its readiness says so). */
const waitForAgent: Step<PullJoinData> = {
  name: 'wait-for-agent',
  title: (d) => `Waiting for the agent of cluster ${d.cluster} to report to the federation`,
  skip: (d) => d.target.dryRun,
  run: async (d) => {
    const n = need(d.names, 'the federation');
    const name = agentObjectNames(n).deployment;
    try {
      await rolledOut(d.memberClient, n.namespace, name, 'deployments', { timeoutMs: d.waitTimeoutMs, onWait: (ms, reason) => d.out.progress(`the agent (Deployment ${n.namespace}/${name})`, ms, reason) });
    } catch (err) {
      if (err instanceof WaitTimeoutError) {
        throw new UserError(`the agent did not report to the federation within ${Math.round(d.waitTimeoutMs / 1000)}s; see kubectl --context=${d.member.name} logs -n ${n.namespace} deployment/${name}, fix that, then run the same join again`);
      }
      throw err;
    }
  },
};

export const pullJoinSteps: Step<PullJoinData>[] = [discoverFederation, requestAgentToken, createMemberIdentity, installAgent, waitForAgent];

export async function runPullJoin(d: PullJoinData): Promise<MemberNames> {
  await runSteps(pullJoinSteps, d, d.out, { dryRun: d.target.dryRun });
  return need(d.names, 'the federation');
}
