// What `token create` does with its flags. Loaded only when it runs.
import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';
import { clusterLabelsFlag, dryRunFormat, parseDryRun } from '../flags.ts';
import { Kubeconfig } from '../kubeconfig.ts';
import { LiveTarget, RecordingTarget } from '../kube/target.ts';
import { serverURL } from '../manifests/member.ts';
import { isDNSLabel } from '../names.ts';
import { Output } from '../output.ts';
import { formatObjects } from '../print.ts';
import { clientFor, federationIdentity } from '../join/contexts.ts';
import { CONTEXT_EXTENSION, DEFAULT_NAMESPACE, type FederationContextExtension } from '../constants.ts';
import { runTokenCreate } from './create.ts';

interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

export async function tokenCreateCommand(
  input: { cluster: string; federationContext?: string; ttl: string; federationServer?: string; clusterLabels?: string[]; dryRun?: string | boolean; output?: string; kubeconfig?: string; requestTimeout: string },
  streams: Streams,
): Promise<number> {
  if (!isDNSLabel(input.cluster)) throw new InputError(`"${input.cluster}" is not a valid cluster name (a DNS-1123 label: lower-case letters, digits and '-'); choose another`);
  const ttlMs = parseDuration(input.ttl, '--ttl');
  if (ttlMs < 60_000) throw new InputError(`--ttl: ${input.ttl} is shorter than a minute: a join needs longer; give 10m or more`);
  const federationServer = input.federationServer === undefined ? undefined : serverURL(input.federationServer.trim());
  if (federationServer !== undefined && !/^https:\/\/[^/]+/.test(federationServer)) throw new InputError(`--federation-server: "${input.federationServer}" is not an https URL such as https://federation.example.com:443`);
  const dryRun = parseDryRun(input.dryRun);
  const format = dryRunFormat(input.output, dryRun);
  const requestTimeoutMs = parseDuration(input.requestTimeout, '--request-timeout');
  const kubeconfig = Kubeconfig.load(input.kubeconfig);
  const federationContext = kubeconfig.resolve(input.federationContext, '--context');
  const ext = kubeconfig.contextExtension<FederationContextExtension>(federationContext.name, CONTEXT_EXTENSION);
  const client = await clientFor(federationContext, requestTimeoutMs);
  const out = new Output({ stream: dryRun ? streams.stderr : streams.stdout, quiet: dryRun });
  const recording = new RecordingTarget();
  try {
    const federationId = await federationIdentity(client, kubeconfig, federationContext.name);
    const result = await runTokenCreate({
      kubeconfig,
      federationContext,
      client,
      target: dryRun ? recording : new LiveTarget(client),
      out,
      names: { federation: ext?.federation ?? federationContext.name, federationId, cluster: input.cluster, namespace: ext?.namespace ?? DEFAULT_NAMESPACE },
      ttlMs,
      clusterLabels: clusterLabelsFlag(input.clusterLabels),
      ...(federationServer ? { federationServer } : {}),
    });
    if (dryRun) {
      streams.stdout.write(formatObjects(recording.applied, format));
      return 0;
    }
    out.line();
    out.line(`Run this against cluster ${input.cluster}'s own context before ${result.expires.toISOString().replace(/\.\d{3}Z$/, 'Z')} (the token is a secret):`);
    out.line();
    out.line(`  ${result.command}`);
    out.line();
    out.line(`It joins the cluster in pull mode: an agent there calls the federation, which never calls the cluster. Then: kubectl get clusters`);
    return 0;
  } finally {
    client.close();
  }
}
