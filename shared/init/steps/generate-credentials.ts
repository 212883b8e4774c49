import type { V1Secret } from '@kubernetes/client-node';
import { CREDENTIALS_SECRET } from '../../constants.ts';
import { credentialsSecret } from '../../manifests/credentials.ts';
import type { Step } from '../../steps.ts';
import { ensureAdminCertificate, ensureCredentials } from '../credentials.ts';
import type { InitData } from '../data.ts';

/**
 * Step 3: CA, client certificates, keys and tokens; existing ones are reused. The API server's
 * serving certificate waits for its address, and all of them are stored with it (store-credentials).
 */
export const generateCredentials: Step<InitData> = {
  name: 'generate-credentials',
  title: () => 'Creating federation control plane credentials',
  run: async (d) => {
    const { cfg, host, kubeconfig } = d;
    const existing = await host.read<V1Secret>('v1', 'Secret', CREDENTIALS_SECRET, cfg.namespace);
    // A restore's CA, keys and tokens are the backup's, unless its interrupted run stored them here.
    const { credentials, created } = await ensureCredentials(cfg, existing?.data ?? d.restore?.backup.credentials);
    d.clientCredentials = credentials;
    d.createdCA = created.includes('CA');
    // Stored at once, so a run stopped before the address is known keeps its CA; the serving
    // certificate stored before stays until store-credentials replaces it (an apply that left it
    // out would delete it under the running API server). A dry run shows the Secret once, there.
    if (created.length > 0 && !host.dryRun) await host.apply(credentialsSecret(cfg, credentials));

    const user = kubeconfig.user(cfg.name);
    const decode = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString() : undefined);
    const { admin, created: newAdmin, bootstrap } = await ensureAdminCertificate(credentials.ca, {
      cert: decode(user?.['client-certificate-data']),
      key: decode(user?.['client-key-data']),
    }, cfg.certValidityMs, cfg.encryptionAlgorithm);
    d.admin = admin;
    if (bootstrap) d.bootstrap = bootstrap;
    if (newAdmin) created.push('admin certificate');
    return created.length === 0 ? 'reused existing' : `new: ${created.join(', ')}`;
  },
};
