// What `join` does with its flags (and what join and unjoin both take). Loaded only when one of them runs.
import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';
import { clusterLabelsFlag, dryRunFormat, parseBool, parseDryRun } from '../flags.ts';
import { propagatedKindsFlag } from '../propagation/kinds.ts';
import { Kubeconfig } from '../kubeconfig.ts';
import { Output } from '../output.ts';
import { formatObjects } from '../print.ts';
import { serverURL } from '../manifests/member.ts';
import { runJoin } from './join.ts';
import { runPullJoin } from './pull.ts';
import { clientFor } from './contexts.ts';
import { LiveTarget, RecordingTarget } from '../kube/target.ts';
import { isDNSLabel } from '../names.ts';
import { parseBootstrapToken } from '../pull/bootstrap.ts';
import { defaultAgentImage } from '../manifests/pull.ts';
import { MEMBER_TOKEN_LIFETIME_S } from '../member-credentials.ts';
import { DEFAULT_NAMESPACE } from '../constants.ts';

export interface MembershipInput {
  cluster: string;
  clusterContext?: string;
  federationContext?: string;
  hostContext?: string;
  namespace?: string;
  kubeconfig?: string;
  requestTimeout: string;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** The flags join and unjoin share, checked and resolved. */
export function membershipRequest(input: MembershipInput) {
  return {
    cluster: input.cluster,
    clusterContext: input.clusterContext,
    federationContext: input.federationContext,
    hostContext: input.hostContext,
    namespace: input.namespace,
    requestTimeoutMs: parseDuration(input.requestTimeout, '--request-timeout'),
    kubeconfig: Kubeconfig.load(input.kubeconfig),
  };
}

export async function joinCommand(
  input: MembershipInput & {
    useKubeconfigCredentials?: string | boolean;
    propagatedKinds?: string;
    clusterLabels?: string[];
    clusterServer?: string;
    dryRun?: string | boolean;
    output?: string;
  } & PullFlags,
  streams: Streams,
): Promise<number> {
  if (input.pull) return pullJoinCommand(input, streams);
  for (const [flag, value] of [['--federation-server', input.federationServer], ['--token', input.token], ['--discovery-token-ca-cert-hash', input.caCertHash], ['--agent-image', input.agentImage]] as const) {
    if (value !== undefined) throw new InputError(`${flag} goes with --pull (a join from the cluster's side); without --pull, join calls the cluster from here`);
  }
  const dryRun = parseDryRun(input.dryRun);
  const format = dryRunFormat(input.output, dryRun);
  const out = new Output({ stream: dryRun ? streams.stderr : streams.stdout, quiet: dryRun });
  const result = await runJoin({
    ...membershipRequest(input),
    useKubeconfigCredentials: parseBool(input.useKubeconfigCredentials, '--use-kubeconfig-credentials', false),
    propagatedKinds: propagatedKindsFlag(input.propagatedKinds),
    clusterLabels: clusterLabelsFlag(input.clusterLabels),
    ...(input.clusterServer !== undefined ? { clusterServer: clusterServerFlag(input.clusterServer) } : {}),
    dryRun,
    out,
  });
  if (dryRun) {
    streams.stdout.write(formatObjects(result.objects, format));
    return 0;
  }
  out.line(
    result.alreadyJoined
      ? result.repaired.length > 0
        ? `Cluster ${result.cluster} was already joined to federation ${result.federation} with server ${result.server}; repaired: ${result.repaired.join('; ')}.`
        : `Cluster ${result.cluster} was already joined to federation ${result.federation} with server ${result.server}; everything is in place.`
      : `Cluster ${result.cluster} joined federation ${result.federation}. See it with: kubectl ${result.federationIsCurrent ? '' : `--context=${result.federationContext} `}get clusters`,
  );
  return 0;
}

interface PullFlags {
  pull?: boolean;
  federationServer?: string;
  token?: string;
  caCertHash?: string;
  agentImage?: string;
}

/** join --pull: from the member's side; the federation context, host and init's records play no part. */
async function pullJoinCommand(
  input: MembershipInput & PullFlags & { propagatedKinds?: string; clusterLabels?: string[]; clusterServer?: string; useKubeconfigCredentials?: string | boolean; dryRun?: string | boolean; output?: string },
  streams: Streams,
): Promise<number> {
  for (const [flag, value] of [['--cluster-labels', input.clusterLabels], ['--cluster-server', input.clusterServer], ['--use-kubeconfig-credentials', input.useKubeconfigCredentials], ['--context', input.federationContext], ['--host-cluster-context', input.hostContext]] as const) {
    if (value !== undefined) throw new InputError(`${flag} does not go with --pull: ${flag === '--cluster-labels' ? 'labels are given at kubectl federation token create' : 'a pull join talks to the cluster and to --federation-server only'}`);
  }
  const missing = (['--federation-server', '--token', '--discovery-token-ca-cert-hash'] as const).filter((_flag, i) => [input.federationServer, input.token, input.caCertHash][i] === undefined);
  if (missing.length > 0) throw new InputError(`--pull needs ${missing.join(', ')}: kubectl federation token create ${input.cluster} (against the federation) prints the whole command`);
  const token = parseBootstrapToken(input.token!);
  if (!token) throw new InputError('--token: not a join token (six and sixteen lower-case letters or digits: abcdef.0123456789abcdef); copy it from kubectl federation token create');
  const caHash = input.caCertHash!.trim().toLowerCase();
  if (!/^sha256:[0-9a-f]{64}$/.test(caHash)) throw new InputError(`--discovery-token-ca-cert-hash: "${input.caCertHash}" is not sha256: and 64 hex digits; copy it from kubectl federation token create`);
  const federationServer = serverURL(input.federationServer!.trim());
  if (!/^https:\/\/[^/]+/.test(federationServer)) throw new InputError(`--federation-server: "${input.federationServer}" is not an https URL such as https://203.0.113.10:443`);
  if (!isDNSLabel(input.cluster)) throw new InputError(`"${input.cluster}" is not a valid cluster name (a DNS-1123 label); use the name token create was given`);
  const dryRun = parseDryRun(input.dryRun);
  const format = dryRunFormat(input.output, dryRun);
  const kubeconfig = Kubeconfig.load(input.kubeconfig);
  // The cluster's context: --cluster-context, else one named CLUSTER, else the current one.
  const contextName = input.clusterContext ?? (kubeconfig.context(input.cluster) ? input.cluster : undefined);
  const member = kubeconfig.resolve(contextName, '--cluster-context');
  const timeoutMs = parseDuration(input.requestTimeout, '--request-timeout');
  const memberClient = await clientFor(member, timeoutMs);
  const out = new Output({ stream: dryRun ? streams.stderr : streams.stdout, quiet: dryRun });
  const recording = new RecordingTarget();
  try {
    const names = await runPullJoin({
      cluster: input.cluster,
      member,
      memberClient,
      target: dryRun ? recording : new LiveTarget(memberClient),
      out,
      timeoutMs,
      waitTimeoutMs: 5 * 60_000,
      federationServer,
      token,
      caHash,
      propagatedKinds: propagatedKindsFlag(input.propagatedKinds),
      image: input.agentImage ?? defaultAgentImage,
      pullPolicy: 'IfNotPresent',
      namespace: input.namespace ?? DEFAULT_NAMESPACE,
      tokenLifetimeSeconds: MEMBER_TOKEN_LIFETIME_S,
    });
    if (dryRun) {
      streams.stdout.write(formatObjects(recording.applied, format));
      return 0;
    }
    out.line(`Cluster ${input.cluster} joined federation ${names.federation} in pull mode: its agent reports to ${federationServer}. See it from the federation with: kubectl get clusters`);
    return 0;
  } finally {
    memberClient.close();
  }
}

/** --cluster-server: an https URL (or host:port, https assumed, as kubectl takes a server). */
function clusterServerFlag(value: string): string {
  const url = serverURL(value.trim());
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`--cluster-server: "${value}" is not a URL such as https://10.0.0.5:6443`);
  }
  if (parsed.protocol !== 'https:') throw new InputError(`--cluster-server: "${value}" is not https: the controller manager talks to members over TLS only`);
  return url;
}
