import { credentialsSecret, etcdClientSecret } from '../../manifests/credentials.ts';
import { serviceDNSNames } from '../../manifests/service.ts';
import type { Step } from '../../steps.ts';
import { ensureServingCertificate } from '../credentials.ts';
import { type InitData, need } from '../data.ts';

/** Every name and address the API server's certificate must be valid for. */
export function serverNames(d: InitData): string[] {
  const endpoint = need(d.endpoint, 'the endpoint');
  const names = [...serviceDNSNames(d.cfg.namespace), 'localhost', '127.0.0.1', ...(d.endpointAliases ?? []), ...d.cfg.extraSans];
  // A dry run has no address yet; its certificate is redacted from the output anyway.
  if (d.hostClient) names.unshift(endpoint.host);
  return [...new Set(names)];
}

/** Step 3, finished: the API server's serving certificate for its address, and every credential in a Secret. */
export const storeCredentials: Step<InitData> = {
  name: 'store-credentials',
  title: () => "Storing the credentials, with the API server's certificate",
  run: async (d) => {
    const { cfg, host } = d;
    const client = need(d.clientCredentials, 'the credentials');
    const { server, created } = await ensureServingCertificate(cfg, client, serverNames(d));
    d.credentials = { ...client, server };
    const etcdClient = etcdClientSecret(cfg);
    await Promise.all([host.apply(credentialsSecret(cfg, d.credentials)), etcdClient ? host.apply(etcdClient) : undefined]);
    return created ? 'new: server certificate' : 'reused existing';
  },
};
