import { clusterObject } from '../../manifests/member.ts';
import type { Step } from '../../steps.ts';
import type { JoinData } from '../data.ts';

/** Step 4: the Cluster in the federation, pointing at the member's server and its Secret. */
export const createCluster: Step<JoinData> = {
  name: 'create-cluster',
  title: (d) => `Creating cluster ${d.m.names.cluster} in federation ${d.m.names.federation}`,
  run: async (d) => {
    await d.targets.federation.apply(clusterObject(d.m.names, d.server, d.clusterLabels));
    return d.server;
  },
};
