// `kubectl federation certs check-expiration` and `certs renew`: the certificates init made, their
// expiry, and their renewal with the same CA (so every client that trusts the federation keeps
// trusting it): new certificates in the Secrets, the pods rolled so they load them, and the admin
// certificate in the kubeconfig replaced.
import { X509Certificate } from 'node:crypto';
import { APISERVER_NAME, CONTROLLER_MANAGER_KUBECONFIG_SECRET, CONTROLLER_MANAGER_NAME, CREDENTIALS_SECRET, ETCD_NAME } from '../constants.ts';
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
import { roll, rolledOut } from '../kube/rollout.ts';
import { need, runSteps, type Step, StepError } from '../steps.ts';

export interface CertificateExpiry {
  name: string;
  subject: string;
  expires: string;
  daysLeft: number;
  /** The certificate authority that signed it ("" for the CA itself). */
  authority: string;
}

/** etcd: its members' certificate and the API server's etcd client certificate (init --ha only). */
export const RENEWABLE = ['apiserver', 'etcd', 'controller-manager', 'admin'] as const;
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
    ...etcdExpiry(f.secret),
  ].filter((c): c is CertificateExpiry => c !== undefined);
}

/** init --ha's etcd certificates, from the credentials Secret's data (decoded); none without --ha. */
export function etcdExpiry(secret: Record<string, string | Buffer | undefined>, now = Date.now()): (CertificateExpiry | undefined)[] {
  const k = CREDENTIAL_KEYS;
  if (!secret[k.etcdCaCert]) return [];
  return [expiry('etcd-ca', secret[k.etcdCaCert], '', now), expiry('etcd (members)', secret[k.etcdPeerCert], 'etcd-ca', now), expiry('apiserver-etcd-client', secret[k.etcdClientCert], 'etcd-ca', now)];
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

export interface RenewResult {
  federation: string;
  renewed: string[];
}

/** What renew's steps share: the federation found, its CAs, and what each step made for the next. */
interface RenewData {
  kc: Kubeconfig;
  which: Renewable[];
  f: Federation;
  ca: CertAndKey;
  etcdCA: CertAndKey | undefined;
  /** The kubeconfig user whose admin certificate is renewed (checked before anything is written). */
  admin?: { name: string; user: NonNullable<ReturnType<Kubeconfig['user']>> };
  /** New Secret data by key (certificates and keys). */
  changed: Record<string, string>;
  cmKubeconfig?: string;
  renewed: string[];
}

const annotation = 'federation.kubectl-federation.io/credentials-digest';

/** Checks first (nothing written if one fails), then one certificate per part asked for, signed by the same CA. */
const issueCertificates: Step<RenewData> = {
  name: 'issue-certificates',
  title: (d) => `Issuing new certificates for federation ${d.f.federation} with its CA`,
  run: async (d) => {
    const { f, which, ca, etcdCA } = d;
    const k = CREDENTIAL_KEYS;
    const s = f.secret;
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
    }
    if (which.includes('etcd') && !etcdCA && which.length === 1) {
      throw new UserError(`federation ${f.federation} runs etcd in its API server's pod, with no certificates of its own: nothing to renew (init --ha makes them)`);
    }
    if (which.includes('admin')) {
      const ctx = d.kc.context(f.context);
      const user = ctx?.user ? d.kc.user(ctx.user) : undefined;
      if (!ctx?.user || !user) throw new UserError(`context "${f.context}" names no user to renew the admin certificate of`);
      d.admin = { name: ctx.user, user };
    }
    const issued: string[] = [];
    if (which.includes('apiserver')) {
      const serverCert = s[k.serverCert];
      // The same names as before: whoever reaches the API server by an address still does.
      const server = await newSignedCertificate({ commonName: 'federation-apiserver', usage: 'server', altNames: serverCert ? subjectAltNames(serverCert) : [] }, ca, algorithmOf(s[k.serverKey]));
      Object.assign(d.changed, { [k.serverCert]: server.cert, [k.serverKey]: server.key });
      issued.push('apiserver');
    }
    if (which.includes('etcd') && etcdCA) {
      const [peer, client] = await Promise.all([
        newSignedCertificate({ commonName: 'etcd', usage: 'peer', altNames: subjectAltNames(s[k.etcdPeerCert] ?? '') }, etcdCA, algorithmOf(s[k.etcdPeerKey])),
        newSignedCertificate({ commonName: 'kube-apiserver-etcd-client', usage: 'client' }, etcdCA, algorithmOf(s[k.etcdClientKey])),
      ]);
      Object.assign(d.changed, { [k.etcdPeerCert]: peer.cert, [k.etcdPeerKey]: peer.key, [k.etcdClientCert]: client.cert, [k.etcdClientKey]: client.key });
      issued.push('etcd (members)', 'apiserver-etcd-client');
    }
    if (which.includes('controller-manager')) {
      const cm = await newSignedCertificate({ commonName: CONTROLLER_MANAGER_USER, usage: 'client' }, ca, algorithmOf(s[k.controllerManagerKey]));
      Object.assign(d.changed, { [k.controllerManagerCert]: cm.cert, [k.controllerManagerKey]: cm.key });
      d.cmKubeconfig = kubeconfigText({ name: f.federation, server: `https://${APISERVER_NAME}.${f.namespace}.svc`, caCert: ca.cert, clientCert: cm.cert, clientKey: cm.key });
      issued.push('controller-manager');
    }
    if (d.admin) issued.push('admin');
    return issued.join(', ');
  },
};

const storeCertificates: Step<RenewData> = {
  name: 'store-certificates',
  title: (d) => `Storing them in Secret ${d.f.namespace}/${CREDENTIALS_SECRET} of the host cluster`,
  skip: (d) => Object.keys(d.changed).length === 0,
  run: async (d) => {
    await d.f.host.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(d.f.namespace)}/secrets/${CREDENTIALS_SECRET}`, {
      body: { data: Object.fromEntries(Object.entries(d.changed).map(([key, v]) => [key, b64(v)])) },
      contentType: 'application/merge-patch+json',
    });
  },
};

/** The members first, one at a time (each trusts the same CA, so old and new talk); the API servers after, with their new client certificate. */
const rollEtcd: Step<RenewData> = {
  name: 'roll-etcd',
  title: (d) => `Rolling StatefulSet ${d.f.namespace}/${ETCD_NAME} one member at a time`,
  skip: (d) => !d.changed[CREDENTIAL_KEYS.etcdPeerCert] || !d.etcdCA,
  run: async (d) => {
    await roll(d.f.host, d.f.namespace, ETCD_NAME, annotation, digest(need(d.etcdCA, "etcd's CA").cert, d.changed[CREDENTIAL_KEYS.etcdPeerCert]), 'statefulsets');
    await rolledOut(d.f.host, d.f.namespace, ETCD_NAME, 'statefulsets');
    d.renewed.push('etcd');
  },
};

const rollApiServer: Step<RenewData> = {
  name: 'roll-apiserver',
  title: (d) => `Rolling Deployment ${d.f.namespace}/${APISERVER_NAME} onto its new ${d.changed[CREDENTIAL_KEYS.serverCert] ? 'certificate' : 'etcd client certificate'}`,
  skip: (d) => !d.changed[CREDENTIAL_KEYS.serverCert] && !d.changed[CREDENTIAL_KEYS.etcdClientCert],
  run: async (d) => {
    const k = CREDENTIAL_KEYS;
    const s = d.f.secret;
    // The digest init computes from the same parts, so a later init run sees nothing to change.
    const server = d.changed[k.serverCert] ?? s[k.serverCert];
    await roll(d.f.host, d.f.namespace, APISERVER_NAME, annotation, digest(d.ca.cert, server, s[k.serviceAccountPub], s[k.tokens]?.split(',')[0], d.changed[k.etcdClientCert] ?? s[k.etcdClientCert]));
    await rolledOut(d.f.host, d.f.namespace, APISERVER_NAME);
    if (d.changed[k.serverCert]) d.renewed.push('apiserver');
  },
};

const rollControllerManager: Step<RenewData> = {
  name: 'roll-controller-manager',
  title: (d) => `Rolling Deployment ${d.f.namespace}/${CONTROLLER_MANAGER_NAME} onto its new kubeconfig`,
  skip: (d) => d.cmKubeconfig === undefined,
  run: async (d) => {
    const kubeconfig = need(d.cmKubeconfig, "the controller manager's new kubeconfig");
    await d.f.host.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(d.f.namespace)}/secrets/${CONTROLLER_MANAGER_KUBECONFIG_SECRET}`, {
      body: { data: { kubeconfig: b64(kubeconfig) } },
      contentType: 'application/merge-patch+json',
    });
    await roll(d.f.host, d.f.namespace, CONTROLLER_MANAGER_NAME, 'federation.kubectl-federation.io/kubeconfig-digest', digest(kubeconfig));
    await rolledOut(d.f.host, d.f.namespace, CONTROLLER_MANAGER_NAME);
    d.renewed.push('controller-manager');
  },
};

const updateKubeconfig: Step<RenewData> = {
  name: 'update-kubeconfig',
  title: (d) => `Writing the new admin certificate into the kubeconfig (user ${d.admin?.name})`,
  skip: (d) => d.admin === undefined,
  run: async (d) => {
    const { name, user } = need(d.admin, 'the admin user');
    // Same group as init's: its ClusterRoleBinding exists in the federation already.
    const admin = await newAdminCertificate(d.ca, undefined, algorithmOf(user['client-key-data'] ? Buffer.from(user['client-key-data'], 'base64').toString() : undefined));
    d.kc.write({ users: { [name]: { ...user, 'client-certificate-data': b64(admin.cert), 'client-key-data': b64(admin.key) } } });
    d.renewed.push('admin');
  },
};

export const renewSteps: Step<RenewData>[] = [
  issueCertificates, // 1. checks, then new certificates signed by the same CAs; nothing written yet
  storeCertificates, // 2. into the credentials Secret
  rollEtcd, // 3. init --ha: etcd's members, one at a time
  rollApiServer, // 4. the API servers load theirs
  rollControllerManager, // 5. its kubeconfig Secret, then its pods
  updateKubeconfig, // 6. the admin certificate in the user's kubeconfig
];

export async function renew(kc: Kubeconfig, name: string | undefined, which: Renewable[], timeoutMs: number, out: Output): Promise<RenewResult> {
  if (which.includes('admin')) kc.checkWritable();
  const f = await open(kc, name, timeoutMs);
  const k = CREDENTIAL_KEYS;
  const s = f.secret;
  const [caCert, caKey, etcdCACert, etcdCAKey] = [s[k.caCert], s[k.caKey], s[k.etcdCaCert], s[k.etcdCaKey]];
  try {
    if (!caCert || !caKey) throw new UserError(`Secret ${f.namespace}/${CREDENTIALS_SECRET} holds no CA to sign with: re-run kubectl federation init ${f.federation}`);
    const d: RenewData = {
      kc,
      which,
      f,
      ca: { cert: caCert, key: caKey },
      etcdCA: etcdCACert && etcdCAKey ? { cert: etcdCACert, key: etcdCAKey } : undefined,
      changed: {},
      renewed: [],
    };
    await runSteps(renewSteps, d, out);
    return { federation: f.federation, renewed: d.renewed };
  } catch (err) {
    throw err instanceof StepError ? err.cause : err;
  } finally {
    f.host.close();
  }
}
