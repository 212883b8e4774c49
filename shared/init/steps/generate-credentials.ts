import type { V1Secret } from '@kubernetes/client-node';
import { CREDENTIALS_SECRET } from '../../constants.ts';
import { credentialsSecret, etcdClientSecret } from '../../manifests/credentials.ts';
import { serviceDNSNames } from '../../manifests/service.ts';
import type { Step } from '../../steps.ts';
import { ensureAdminCertificate, ensureCredentials } from '../credentials.ts';
import { type InitData, need } from '../data.ts';

/** Every name and address the API server's certificate must be valid for. */
export function serverNames(d: InitData): string[] {
  const endpoint = need(d.endpoint, 'the endpoint');
  const names = [...serviceDNSNames(d.cfg.namespace), 'localhost', '127.0.0.1', ...(d.endpointAliases ?? []), ...d.cfg.extraSans];
  // A dry run has no address yet; its certificate is redacted from the output anyway.
  if (d.hostClient) names.unshift(endpoint.host);
  return [...new Set(names)];
}

/** Step 3: CA, certificates, keys and tokens, kept in a Secret; existing ones are reused. */
export const generateCredentials: Step<InitData> = {
  name: 'generate-credentials',
  title: () => 'Creating federation control plane credentials',
  run: async (d) => {
    const { cfg, host, kubeconfig } = d;
    const existing = await host.read<V1Secret>('v1', 'Secret', CREDENTIALS_SECRET, cfg.namespace);
    const { credentials, created } = await ensureCredentials(cfg, existing?.data, serverNames(d));
    d.credentials = credentials;
    const etcdClient = etcdClientSecret(cfg);
    await Promise.all([host.apply(credentialsSecret(cfg, credentials)), etcdClient ? host.apply(etcdClient) : undefined]);

    const user = kubeconfig.user(cfg.name);
    const decode = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString() : undefined);
    const { admin, created: newAdmin, bootstrap } = await ensureAdminCertificate(credentials.ca, {
      cert: decode(user?.['client-certificate-data']),
      key: decode(user?.['client-key-data']),
    }, cfg.certValidityMs);
    d.admin = admin;
    if (bootstrap) d.bootstrap = bootstrap;
    if (newAdmin) created.push('admin certificate');
    return created.length === 0 ? 'reused existing' : `new: ${created.join(', ')}`;
  },
};
