import { ETCD_NAME } from '../../constants.ts';
import { digest } from '../../manifests/credentials.ts';
import { ETCD_MEMBERS, etcdCluster, etcdService, etcdStatefulSet } from '../../manifests/etcd.ts';
import { disruptionBudget } from '../../manifests/placement.ts';
import type { Step } from '../../steps.ts';
import { type InitData, need } from '../data.ts';

/**
 * Step 5 with --ha: etcd as a cluster of three (a claim each, from the StatefulSet's template),
 * started now: its certificates name its members, not the API server's address.
 */
export const createEtcdCluster: Step<InitData> = {
  name: 'create-etcd-cluster',
  title: (d) => `Creating etcd cluster (${ETCD_MEMBERS} members, ${d.cfg.etcd.capacity} each)`,
  skip: (d) => !etcdCluster(d.cfg),
  run: async (d) => {
    const { cfg, host } = d;
    const etcd = need(need(d.clientCredentials, 'the credentials').etcd, "etcd's credentials");
    await Promise.all([host.apply(etcdService(cfg)), host.apply(disruptionBudget(cfg, ETCD_NAME))]);
    await host.apply(etcdStatefulSet(cfg, digest(etcd.ca.cert, etcd.peer.cert)));
  },
};
