import { FEDERATION_API_VERSION } from '../../constants.ts';
import { UserError } from '../../errors.ts';
import { objectPath } from '../../kube/resources.ts';
import type { Cluster } from '../../manifests/federation-api.ts';
import { serverURL } from '../../manifests/member.ts';
import type { Step } from '../../steps.ts';
import { failedAt } from '../../kube/failures.ts';
import { federationIdentity } from '../contexts.ts';
import type { JoinData } from '../data.ts';

/** Step 1: everything join needs is there and answers, before anything is written. */
export const checkClusters: Step<JoinData> = {
  name: 'check-clusters',
  title: () => 'Checking the federation, host and member clusters',
  run: async (d) => {
    const { m, clients } = d;
    if (!m.member) {
      const known = d.kubeconfig.contextNames();
      throw new UserError(
        `context "${m.memberContextName}" does not exist in ${d.kubeconfig.describePaths()} (contexts: ${known.join(', ')}): name the cluster's context with --cluster-context`,
      );
    }
    d.server = serverURL(m.member.cluster.server);
    if (d.server.startsWith('http://')) {
      throw new UserError(
        `cluster "${m.names.cluster}" is served over plain http (${d.server}, context "${m.member.name}"): the controller manager talks to members over https only; point the context at the cluster's https address`,
      );
    }
    m.names.federationId = await federationIdentity(clients.federation, d.kubeconfig, m.federation.name);

    const existing = await clients.federation
      .find<Cluster>(objectPath(FEDERATION_API_VERSION, 'Cluster', m.names.cluster))
      .catch(failedAt('federation API server', m.federation.name));
    if (existing) {
      const joinedServer = existing.spec.serverAddressByClientCIDRs[0]?.serverAddress;
      if (joinedServer !== d.server) {
        throw new UserError(
          `cluster "${m.names.cluster}" is already joined with server ${joinedServer}, not ${d.server}: unjoin it first, or join this one under another name`,
        );
      }
      d.alreadyJoined = true;
    }
    const ns = await clients.host
      .find<unknown>(objectPath('v1', 'Namespace', m.names.namespace))
      .catch(failedAt('host cluster', m.host.name));
    if (!ns) {
      throw new UserError(
        `the host cluster (context "${m.host.name}") has no namespace ${m.names.namespace}: is the federation deployed there? Check --host-cluster-context`,
      );
    }
    await clients
      .member!.get<unknown>('/version')
      .catch(failedAt('cluster to join', m.member.name));
    return undefined;
  },
};
