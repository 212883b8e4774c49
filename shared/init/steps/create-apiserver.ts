import { apiserverDeployment } from '../../manifests/apiserver.ts';
import { digest } from '../../manifests/credentials.ts';
import type { Step } from '../../steps.ts';
import { type InitData, need } from '../data.ts';

/** Step 6: the API server Deployment: etcd and kube-apiserver in one pod. */
export const createAPIServer: Step<InitData> = {
  name: 'create-apiserver',
  title: () => 'Creating federation API server deployment',
  run: async (d) => {
    const c = need(d.credentials, 'the credentials');
    const credentialsDigest = digest(c.ca.cert, c.server.cert, c.serviceAccount.publicKey, c.token);
    await d.host.apply(apiserverDeployment(d.cfg, credentialsDigest));
    return d.upgrade ? `upgrading ${d.upgrade}` : undefined;
  },
};
