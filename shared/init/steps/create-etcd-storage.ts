import { etcdClaim } from '../../manifests/storage.ts';
import type { Step } from '../../steps.ts';
import type { InitData } from '../data.ts';

/** Step 5: the claim that keeps etcd's data (not with --etcd-servers or emptyDir storage). */
export const createEtcdStorage: Step<InitData> = {
  name: 'create-etcd-storage',
  title: (d) => `Creating persistent volume claim for etcd (${d.cfg.etcd.capacity})`,
  skip: (d) => d.cfg.etcd.servers !== undefined || !d.cfg.etcd.persistentStorage,
  run: async (d) => {
    await d.host.apply(etcdClaim(d.cfg));
  },
};
