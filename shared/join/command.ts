// What `join` and `unjoin` do with their flags. Loaded only when one of them runs.
import { parseDuration } from '../duration.ts';
import { parseBool, parseOneOf } from '../flags.ts';
import { Kubeconfig } from '../kubeconfig.ts';
import { Output } from '../output.ts';
import { formatObjects } from '../print.ts';
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
  input: MembershipInput & { useKubeconfigCredentials?: string | boolean; dryRun: boolean; output: string },
  streams: Streams,
): Promise<number> {
  const format = parseOneOf(input.output, ['yaml', 'json'] as const, '--output');
  const out = new Output({ stream: input.dryRun ? streams.stderr : streams.stdout, quiet: input.dryRun });
  const result = await runJoin({
    ...common(input),
    useKubeconfigCredentials: parseBool(input.useKubeconfigCredentials, '--use-kubeconfig-credentials', false),
    dryRun: input.dryRun,
    out,
  });
  if (input.dryRun) {
    streams.stdout.write(formatObjects(result.objects, format));
    return 0;
  }
  out.line(
    result.alreadyJoined
      ? `Cluster ${result.cluster} was already joined to federation ${result.federation} with server ${result.server}; everything is in place.`
      : `Cluster ${result.cluster} joined federation ${result.federation}. See it with: kubectl get clusters`,
  );
  return 0;
}

export async function unjoinCommand(input: MembershipInput & { ignoreNotFound: boolean }, streams: Streams): Promise<number> {
  const out = new Output({ stream: streams.stdout });
  const result = await runUnjoin({ ...common(input), ignoreNotFound: input.ignoreNotFound, out });
  if (result.removed) out.line(`Successfully removed cluster ${input.cluster} from the federation.`);
  return 0;
}
