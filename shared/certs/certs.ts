// `kubectl federation certs check-expiration` and `certs renew`: the certificates init made, their
// expiry, and their renewal with the same CA (so every client that trusts the federation keeps
// trusting it): new certificates in the Secrets, the pods rolled so they load them, and the admin
// certificate in the kubeconfig replaced.
import { X509Certificate } from 'node:crypto';
import { APISERVER_NAME, CONTROLLER_MANAGER_KUBECONFIG_SECRET, CONTROLLER_MANAGER_NAME, CREDENTIALS_SECRET } from '../constants.ts';
import { InputError, UserError } from '../errors.ts';
import { findFederationContext } from '../federation-context.ts';
import type { Kubeconfig } from '../kubeconfig.ts';
import { credentialsFor } from '../kube/credentials.ts';
import type { RestClient } from '../kube/rest.ts';
import { clientFor } from '../join/contexts.ts';
import { newAdminCertificate } from '../init/credentials.ts';
import { CREDENTIAL_KEYS, digest } from '../manifests/credentials.ts';
import { CONTROLLER_MANAGER_USER } from '../manifests/federation-api.ts';
import { kubeconfigText } from '../manifests/kubeconfig.ts';
import type { Output } from '../output.ts';
import { algorithmOf, type CertAndKey, newSignedCertificate, subjectAltNames } from '../pki.ts';
import { done, notYet, poll } from '../wait.ts';

export interface CertificateExpiry {
  name: string;
  subject: string;
  expires: string;
  daysLeft: number;
  /** The certificate authority that signed it ("" for the CA itself). */
  authority: string;
}

export const RENEWABLE = ['apiserver', 'controller-manager', 'admin'] as const;
export type Renewable = (typeof RENEWABLE)[number];

export function expiry(name: string, pem: string | Buffer | undefined, authority: string, now = Date.now()): CertificateExpiry | undefined {
  if (!pem) return undefined;
  const cert = new X509Certificate(pem);
  const expires = new Date(cert.validTo);
  return { name, subject: cert.subject.replace(/\n/g, ', '), expires: expires.toISOString(), daysLeft: Math.floor((expires.getTime() - now) / 86_400_000), authority };
}

interface Federation {
  context: string;
  federation: string;
  namespace: string;
  hostContext: string;
  host: RestClient;
  secret: Record<string, string>;
}

const decode = (data: Record<string, string> | undefined) => Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function open(kc: Kubeconfig, name: string | undefined, timeoutMs: number): Promise<Federation> {
  const { context, ext } = findFederationContext(kc, name);
  const host = await clientFor(kc.resolve(ext.hostContext, '--host-cluster-context'), timeoutMs);
  const secret = await host.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${encodeURIComponent(ext.namespace)}/secrets/${CREDENTIALS_SECRET}`).catch((err: unknown) => {
    host.close();
    throw err;
  });
  if (!secret) {
    host.close();
    throw new UserError(`Secret ${ext.namespace}/${CREDENTIALS_SECRET} is missing from the host cluster (context "${ext.hostContext}"): re-run kubectl federation init ${ext.federation} to repair the control plane`);
  }
  return { context, federation: ext.federation, namespace: ext.namespace, hostContext: ext.hostContext, host, secret: decode(secret.data) };
}

/** Every certificate init made, as kubeadm's check-expiration lists them. */
export async function checkExpiration(kc: Kubeconfig, name: string | undefined, timeoutMs: number): Promise<CertificateExpiry[]> {
  const f = await open(kc, name, timeoutMs);
  f.host.close();
  const k = CREDENTIAL_KEYS;
  const admin = await credentialsFor(kc.resolve(f.context), async () => undefined);
  return [
    expiry('ca', f.secret[k.caCert], ''),
    expiry('apiserver', f.secret[k.serverCert], 'ca'),
    expiry('controller-manager', f.secret[k.controllerManagerCert], 'ca'),
    expiry(`admin (kubeconfig user of context ${f.context})`, admin.cert, 'ca'),
  ].filter((c): c is CertificateExpiry => c !== undefined);
}

export function formatExpiration(certs: CertificateExpiry[]): string {
  const rows = [['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY'], ...certs.map((c) => [c.name, c.expires.replace('T', ' ').slice(0, 16) + ' UTC', c.daysLeft < 0 ? 'expired' : `${c.daysLeft}d`, c.authority])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd()).join('\n')}\n`;
}

export function parseWhich(word: string | undefined): Renewable[] {
  if (word === undefined || word === 'all') return [...RENEWABLE];
  if ((RENEWABLE as readonly string[]).includes(word)) return [word as Renewable];
  throw new InputError(`certs renew: "${word}" is not one of all, ${RENEWABLE.join(', ')}`);
}

/** A merge patch of one Deployment's pod-template annotation: the pods restart and load the new files. */
async function roll(host: RestClient, namespace: string, deployment: string, annotation: string, value: string): Promise<void> {
  await host.request('PATCH', `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${deployment}`, {
    body: { spec: { template: { metadata: { annotations: { [annotation]: value } } } } },
    contentType: 'application/merge-patch+json',
  });
}

async function rolledOut(host: RestClient, namespace: string, deployment: string): Promise<void> {
  await poll(
    async () => {
      const d = await host.get<{ metadata: { generation: number }; spec: { replicas?: number }; status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number } }>(
        `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${deployment}`,
      );
      const want = d.spec.replicas ?? 1;
      const s = d.status ?? {};
      return (s.observedGeneration ?? 0) >= d.metadata.generation && s.updatedReplicas === want && s.availableReplicas === want && s.replicas === want
        ? done(true)
        : notYet(`${s.updatedReplicas ?? 0} of ${want} updated, ${s.availableReplicas ?? 0} available`);
    },
    { what: `Deployment ${namespace}/${deployment} to roll out`, timeoutMs: 5 * 60_000, intervalMs: 500 },
  );
}

export interface RenewResult {
  federation: string;
  renewed: string[];
}

export async function renew(kc: Kubeconfig, name: string | undefined, which: Renewable[], timeoutMs: number, out: Output): Promise<RenewResult> {
  if (which.includes('admin')) kc.checkWritable();
  const f = await open(kc, name, timeoutMs);
  const k = CREDENTIAL_KEYS;
  const s = f.secret;
  const caCert = s[k.caCert];
  const caKey = s[k.caKey];
  if (!caCert || !caKey) {
    f.host.close();
    throw new UserError(`Secret ${f.namespace}/${CREDENTIALS_SECRET} holds no CA to sign with: re-run kubectl federation init ${f.federation}`);
  }
  const ca: CertAndKey = { cert: caCert, key: caKey };
  const serverCert = s[k.serverCert];
  const renewed: string[] = [];
  try {
    const changed: Record<string, string> = {};
    if (which.includes('apiserver')) {
      // Rolling the API server restarts etcd beside it: on an emptyDir, that is the federation's data.
      const deployment = await f.host.find<{ spec?: { template?: { spec?: { volumes?: { name: string; emptyDir?: object }[] } } } }>(
        `/apis/apps/v1/namespaces/${encodeURIComponent(f.namespace)}/deployments/${APISERVER_NAME}`,
      );
      if (deployment?.spec?.template?.spec?.volumes?.some((v) => v.name === 'etcd-data' && v.emptyDir)) {
        throw new UserError(
          `federation ${f.federation} keeps etcd's data on an emptyDir (init --etcd-persistent-storage=false): rolling the API server to load a new certificate would lose that data; renew controller-manager and admin only, or move etcd to a volume first`,
        );
      }
      // The same names as before: whoever reaches the API server by an address still does.
      const server = await newSignedCertificate({ commonName: 'federation-apiserver', usage: 'server', altNames: serverCert ? subjectAltNames(serverCert) : [] }, ca, algorithmOf(s[k.serverKey]));
      changed[k.serverCert] = server.cert;
      changed[k.serverKey] = server.key;
    }
    let cmKubeconfig: string | undefined;
    if (which.includes('controller-manager')) {
      const cm = await newSignedCertificate({ commonName: CONTROLLER_MANAGER_USER, usage: 'client' }, ca, algorithmOf(s[k.controllerManagerKey]));
      changed[k.controllerManagerCert] = cm.cert;
      changed[k.controllerManagerKey] = cm.key;
      cmKubeconfig = kubeconfigText({ name: f.federation, server: `https://${APISERVER_NAME}.${f.namespace}.svc`, caCert: ca.cert, clientCert: cm.cert, clientKey: cm.key });
    }
    if (Object.keys(changed).length > 0) {
      await f.host.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(f.namespace)}/secrets/${CREDENTIALS_SECRET}`, {
        body: { data: Object.fromEntries(Object.entries(changed).map(([key, v]) => [key, b64(v)])) },
        contentType: 'application/merge-patch+json',
      });
    }
    if (changed[k.serverCert]) {
      // The digest init computes from the same parts, so a later init run sees nothing to change.
      await roll(f.host, f.namespace, APISERVER_NAME, 'federation.kubectl-federation.io/credentials-digest', digest(ca.cert, changed[k.serverCert], s[k.serviceAccountPub], s[k.tokens]?.split(',')[0]));
      out.line(`Renewed the API server certificate; rolling Deployment ${f.namespace}/${APISERVER_NAME}`);
      await rolledOut(f.host, f.namespace, APISERVER_NAME);
      renewed.push('apiserver');
    }
    if (cmKubeconfig) {
      await f.host.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(f.namespace)}/secrets/${CONTROLLER_MANAGER_KUBECONFIG_SECRET}`, {
        body: { data: { kubeconfig: b64(cmKubeconfig) } },
        contentType: 'application/merge-patch+json',
      });
      await roll(f.host, f.namespace, CONTROLLER_MANAGER_NAME, 'federation.kubectl-federation.io/kubeconfig-digest', digest(cmKubeconfig));
      out.line(`Renewed the controller manager certificate; rolling Deployment ${f.namespace}/${CONTROLLER_MANAGER_NAME}`);
      await rolledOut(f.host, f.namespace, CONTROLLER_MANAGER_NAME);
      renewed.push('controller-manager');
    }
    if (which.includes('admin')) {
      const ctx = kc.context(f.context);
      const user = ctx?.user ? kc.user(ctx.user) : undefined;
      if (!ctx?.user || !user) throw new UserError(`context "${f.context}" names no user to renew the admin certificate of`);
      // Same group as init's: its ClusterRoleBinding exists in the federation already.
      const admin = await newAdminCertificate(ca, undefined, algorithmOf(user['client-key-data'] ? Buffer.from(user['client-key-data'], 'base64').toString() : undefined));
      kc.write({ users: { [ctx.user]: { ...user, 'client-certificate-data': b64(admin.cert), 'client-key-data': b64(admin.key) } } });
      out.line(`Renewed the admin certificate in the kubeconfig (user ${ctx.user})`);
      renewed.push('admin');
    }
  } finally {
    f.host.close();
  }
  return { federation: f.federation, renewed };
}
