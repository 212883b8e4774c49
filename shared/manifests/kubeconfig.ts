// Kubeconfig files the product writes into Secrets (a component's own credentials).
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  name: string;
  server: string;
  caCert: string;
  clientCert?: string;
  clientKey?: string;
  token?: string;
}

export function kubeconfigText(spec: KubeconfigSpec): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user: Record<string, string> = {};
  if (spec.clientCert) user['client-certificate-data'] = b64(spec.clientCert);
  if (spec.clientKey) user['client-key-data'] = b64(spec.clientKey);
  if (spec.token) user.token = spec.token;
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: spec.name, cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caCert) } }],
      users: [{ name: spec.name, user }],
      contexts: [{ name: spec.name, context: { cluster: spec.name, user: spec.name } }],
      'current-context': spec.name,
    },
    { lineWidth: 0 },
  );
}
