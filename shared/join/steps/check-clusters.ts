import { FEDERATION_API_VERSION } from '../../constants.ts';
import { allInOrder, UserError } from '../../errors.ts';
import { objectPath } from '../../kube/resources.ts';
import type { Cluster } from '../../manifests/federation-api.ts';
import { isLoopbackServer, serverURL } from '../../manifests/member.ts';
import type { Step } from '../../steps.ts';
import { failedAt } from '../../kube/failures.ts';
import { federationIdentity } from '../contexts.ts';
import type { JoinData } from '../data.ts';

/** Step 1: everything join needs is there and answers, before anything is written. */
export const checkClusters: Step<JoinData> = {
  name: 'check-clusters',
  title: () => 'Checking the federation and the cluster to join',
  run: async (d) => {
    const { m, clients } = d;
    d.server = serverURL(d.clusterServer ?? m.member.cluster.server);
    // An explicit --cluster-server is taken as meant (a controller manager on this very machine).
    if (d.clusterServer === undefined && isLoopbackServer(d.server)) {
      throw new UserError(
        `cluster "${m.names.cluster}" is served at ${d.server} (context "${m.member.name}"), an address of this machine only: ` +
          "the federation's controller manager runs in the host cluster and cannot reach it there. Join with --cluster-server=URL, " +
          'the address the host cluster reaches it at (for kind: the server in `kind get kubeconfig --internal --name NAME`)',
      );
    }
    if (d.server.startsWith('http://')) {
      throw new UserError(
        `cluster "${m.names.cluster}" is served over plain http (${d.server}, context "${m.member.name}"): the controller manager talks to members over https only; point the context at the cluster's https address`,
      );
    }
    // Four reads, two of each cluster, at once (the federation's failures said before the member's).
    const [identity, existing, version, admission] = await allInOrder<[string, Cluster | undefined, { gitVersion?: string }, { resources?: { name: string }[] } | undefined]>([
      federationIdentity(clients.federation, d.kubeconfig, m.federation.name),
      clients.federation.find<Cluster>(objectPath(FEDERATION_API_VERSION, 'Cluster', m.names.cluster)).catch(failedAt('federation API server', m.federation.name)),
      clients.member.get<{ gitVersion?: string }>('/version').catch(failedAt('cluster to join', m.member.name)),
      d.useKubeconfigCredentials ? Promise.resolve(undefined) : clients.member.find<{ resources?: { name: string }[] }>('/apis/admissionregistration.k8s.io/v1').catch(failedAt('cluster to join', m.member.name)),
    ]);
    m.names.federationId = identity;
    if (existing?.spec.mode === 'Pull') {
      throw new UserError(`cluster "${m.names.cluster}" is joined in pull mode (its agent calls the federation): unjoin it first to join it in push mode, or join this one under another name`);
    }
    if (existing) {
      const joinedServer = existing.spec.serverAddressByClientCIDRs?.[0]?.serverAddress;
      if (joinedServer !== d.server) {
        throw new UserError(
          `cluster "${m.names.cluster}" is already joined with server ${joinedServer}, not ${d.server}: unjoin it first, or join this one under another name`,
        );
      }
      d.alreadyJoined = true;
    }
    // The member identity's bounds are an admission policy (GA in Kubernetes 1.30): without one the
    // identity could write in kube-system, so such a member is not joined with a service account.
    if (!d.useKubeconfigCredentials) {
      if (!admission?.resources?.some((r) => r.name === 'validatingadmissionpolicies')) {
        throw new UserError(
          `cluster "${m.names.cluster}" (Kubernetes ${version.gitVersion ?? 'of unknown version'}) does not serve ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30 and later), which keeps the federation's identity out of its kube-system: upgrade it, or join with --use-kubeconfig-credentials to lend the federation your own credentials instead`,
        );
      }
    }
    return undefined;
  },
};
