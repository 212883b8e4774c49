import { isDNSLabel } from '../../names.ts';
import { suggestName } from '../../join/contexts.ts';
import { runJoin } from '../../join/join.ts';
import { Output } from '../../output.ts';
import type { Step } from '../../steps.ts';
import type { InitData } from '../data.ts';

/** The host's API server as its own pods reach it (every serving certificate names it). */
export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc';

/** The host cluster's name as a member: its context's name, made a valid name if it is not one. */
export const hostClusterName = (hostContext: string) => (isDNSLabel(hostContext) ? hostContext : suggestName(hostContext));

/** With --join (the design's "additional enhancements"): the host also becomes a member. */
export const joinHostCluster: Step<InitData> = {
  name: 'join-host-cluster',
  title: (d) => `Joining the host cluster to the federation as ${hostClusterName(d.cfg.hostContext)}`,
  skip: (d) => !d.cfg.join || d.hostClient === undefined,
  run: async (d) => {
    const result = await runJoin({
      kubeconfig: d.kubeconfig,
      cluster: hostClusterName(d.cfg.hostContext),
      clusterContext: d.cfg.hostContext,
      federationContext: d.cfg.name,
      hostContext: d.cfg.hostContext,
      namespace: d.cfg.namespace,
      // What the controller manager, a pod of the host, reaches its own cluster at: the kubeconfig's
      // address may be this laptop's loopback (kind, minikube) or a public one pods cannot use.
      clusterServer: IN_CLUSTER_SERVER,
      useKubeconfigCredentials: false,
      dryRun: false,
      requestTimeoutMs: d.requestTimeoutMs,
      // join's own step lines would interrupt this one's.
      out: new Output({ stream: process.stdout, quiet: true }),
    });
    d.extraRequests += result.requests;
    // A re-join always stores a fresh token: no change unless it joined or repaired something.
    if (!result.alreadyJoined || result.repaired.length > 0) d.changes += 1;
    return result.alreadyJoined ? 'already joined' : undefined;
  },
};
