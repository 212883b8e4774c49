import { CONTEXT_EXTENSION, type FederationContextExtension } from '../../constants.ts';
import type { ClusterEntry } from '../../kubeconfig.ts';
import type { Step } from '../../steps.ts';
import { type InitData, need } from '../data.ts';

/** Adds cluster, user and context NAME to the kubeconfig and, unless told not to, switches to it. */
export const updateKubeconfig: Step<InitData> = {
  name: 'update-kubeconfig',
  title: () => 'Updating kubeconfig',
  skip: (d) => d.hostClient === undefined,
  run: async (d) => {
    const { cfg } = d;
    const endpoint = need(d.endpoint, 'the endpoint');
    const creds = need(d.credentials, 'the credentials');
    const admin = need(d.admin, 'the admin certificate');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const extension: FederationContextExtension = { hostContext: cfg.hostContext, namespace: cfg.namespace, federation: cfg.name };
    // What the user wrote on an entry of that name (proxy-url, extensions...) stays; the server and
    // the CA are init's, and a CA file or skipping verification would contradict them.
    const kept: Partial<ClusterEntry> = { ...d.kubeconfig.cluster(cfg.name) };
    delete kept['certificate-authority'];
    delete kept['insecure-skip-tls-verify'];
    d.kubeconfigPaths = d.kubeconfig.write({
      clusters: { [cfg.name]: { ...kept, server: endpoint.url, 'certificate-authority-data': b64(creds.ca.cert) } },
      users: { [cfg.name]: { 'client-certificate-data': b64(admin.cert), 'client-key-data': b64(admin.key) } },
      contexts: { [cfg.name]: { cluster: cfg.name, user: cfg.name, extensions: [{ name: CONTEXT_EXTENSION, extension }] } },
      ...(cfg.switchContext ? { currentContext: cfg.name } : {}),
    });
    // Clients of the old address (other kubeconfigs, scripts) need the new one: say so.
    const before = kept.server;
    const moved = before && before !== endpoint.url ? `; the endpoint changed: was ${before}, now ${endpoint.url}` : '';
    return `${d.kubeconfigPaths.join(', ')}${moved}`;
  },
};
