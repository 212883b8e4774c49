// What `join` and `unjoin` do with their flags. Loaded only when one of them runs.
import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';
import { dryRunFormat, parseBool, parseDryRun, parseKeyValues } from '../flags.ts';
import { propagatedKindsFlag } from '../propagation/kinds.ts';
import { Kubeconfig } from '../kubeconfig.ts';
import { Output } from '../output.ts';
import { formatObjects } from '../print.ts';
import { serverURL } from '../manifests/member.ts';
import { runJoin } from './join.ts';
import { runUnjoin } from './unjoin.ts';

export interface MembershipInput {
  cluster: string;
  clusterContext?: string;
  federationContext?: string;
  hostContext?: string;
  namespace?: string;
  kubeconfig?: string;
  requestTimeout: string;
}

interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

function common(input: MembershipInput) {
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
  },
  streams: Streams,
): Promise<number> {
  const dryRun = parseDryRun(input.dryRun);
  const format = dryRunFormat(input.output, dryRun);
  const out = new Output({ stream: dryRun ? streams.stderr : streams.stdout, quiet: dryRun });
  const result = await runJoin({
    ...common(input),
    useKubeconfigCredentials: parseBool(input.useKubeconfigCredentials, '--use-kubeconfig-credentials', false),
    propagatedKinds: propagatedKindsFlag(input.propagatedKinds),
    clusterLabels: labelsFlag(input.clusterLabels),
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



const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function labelsFlag(values: string[] | undefined): Record<string, string> {
  const labels = parseKeyValues(values, '--cluster-labels');
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) throw new InputError(`--cluster-labels: "${k}" is not a label key such as region or example.com/tier`);
    if (!LABEL_VALUE.test(v)) throw new InputError(`--cluster-labels: "${v}" (for ${k}) is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
  }
  return labels;
}

export async function unjoinCommand(input: MembershipInput & { ignoreNotFound: boolean; deletePropagated: boolean }, streams: Streams): Promise<number> {
  const out = new Output({ stream: streams.stdout, warnings: streams.stderr });
  const result = await runUnjoin({ ...common(input), ignoreNotFound: input.ignoreNotFound, deletePropagated: input.deletePropagated, out });
  if (result.removed) out.line(`Successfully removed cluster ${input.cluster} from the federation.`);
  return 0;
}
