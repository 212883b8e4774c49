import { APISERVER_NAME } from '../../constants.ts';
import { etcdCluster } from '../../manifests/etcd.ts';
import { etcdClaim } from '../../manifests/storage.ts';
import type { Step } from '../../steps.ts';
import type { InitData } from '../data.ts';

/** Step 5: the claim that keeps etcd's data (not with --etcd-servers or emptyDir storage). */
export const createEtcdStorage: Step<InitData> = {
  name: 'create-etcd-storage',
  title: (d) => `Creating persistent volume claim for etcd (${d.cfg.etcd.capacity})`,
  // With --ha each member's claim comes from etcd's StatefulSet (create-etcd-cluster).
  skip: (d) => d.cfg.etcd.servers !== undefined || !d.cfg.etcd.persistentStorage || etcdCluster(d.cfg),
  run: async (d) => {
    const claim = etcdClaim(d.cfg);
    // A claim left by deinit (it keeps etcd's data unless --purge-data): said, because everything
    // the federation held comes back with it (its objects, its Clusters and their credentials).
    const existing = await d.host.read<{ status?: { phase?: string } }>('v1', 'PersistentVolumeClaim', claim.metadata.name, d.cfg.namespace);
    // On a re-run the API server is there too; a claim alone is what deinit left.
    const leftByDeinit = existing !== undefined && !(await d.host.read('apps/v1', 'Deployment', APISERVER_NAME, d.cfg.namespace));
    await d.host.apply(claim);
    return leftByDeinit ? `found: etcd's data from before (claim ${claim.metadata.name}, ${existing.status?.phase ?? 'Pending'}) is used again, with everything the federation held` : undefined;
  },
};
