import { apiserverDeployment } from '../../manifests/apiserver.ts';
import { APISERVER_NAME } from '../../constants.ts';
import { digest } from '../../manifests/credentials.ts';
import { disruptionBudget } from '../../manifests/placement.ts';
import type { Step } from '../../steps.ts';
import { type InitData, need } from '../data.ts';

/** Step 6: the API server Deployment: etcd and kube-apiserver in one pod; with --ha, replicas of kube-apiserver. */
export const createAPIServer: Step<InitData> = {
  name: 'create-apiserver',
  title: () => 'Creating federation API server deployment',
  run: async (d) => {
    const c = need(d.credentials, 'the credentials');
    const credentialsDigest = digest(c.ca.cert, c.server.cert, c.serviceAccount.publicKey, c.token, c.etcd?.client.cert);
    await Promise.all([d.host.apply(apiserverDeployment(d.cfg, credentialsDigest)), d.cfg.ha ? d.host.apply(disruptionBudget(d.cfg, APISERVER_NAME)) : undefined]);
    return d.upgrade ? `upgrading ${d.upgrade}` : undefined;
  },
};
