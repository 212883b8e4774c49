// The Secrets that hold the federation's credentials.
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { APISERVER_NAME, CONTROLLER_MANAGER_KUBECONFIG_SECRET, CONTROLLER_MANAGER_NAME, CREDENTIALS_SECRET, ETCD_CLIENT_SECRET } from '../constants.ts';
import type { InitConfig } from './config.ts';
import type { CertAndKey, KeyPairPem } from '../pki.ts';
import { metadata } from './meta.ts';
import type { Typed } from './types.ts';

export interface FederationCredentials {
  ca: CertAndKey;
  server: CertAndKey;
  controllerManager: CertAndKey;
  serviceAccount: KeyPairPem;
  /** The bearer token of the admin user, with --apiserver-enable-token-auth. */
  token?: string;
  /** init --ha: etcd's own CA (kubeadm's etcd/ca), its members' certificate, the API server's client certificate. */
  etcd?: EtcdCredentials;
}

/**
 * A CA of its own for etcd, as kubeadm has: etcd trusts every certificate its CA signed, so the
 * federation's CA (which signs the admin's and the controller manager's) must not be it.
 */
export interface EtcdCredentials {
  ca: CertAndKey;
  /** Every member's serving and peer certificate: one, naming every member. */
  peer: CertAndKey;
  /** The API server's client certificate. */
  client: CertAndKey;
}

/** Keys of the credentials Secret. ca.key stays in the Secret only: no pod mounts it. */
export const CREDENTIAL_KEYS = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'server.crt',
  serverKey: 'server.key',
  controllerManagerCert: 'controller-manager.crt',
  controllerManagerKey: 'controller-manager.key',
  serviceAccountKey: 'service-account.key',
  serviceAccountPub: 'service-account.pub',
  tokens: 'known-tokens.csv',
  etcdCaCert: 'etcd-ca.crt',
  etcdCaKey: 'etcd-ca.key',
  etcdPeerCert: 'etcd-peer.crt',
  etcdPeerKey: 'etcd-peer.key',
  etcdClientCert: 'apiserver-etcd-client.crt',
  etcdClientKey: 'apiserver-etcd-client.key',
} as const;

/** The user a bearer token authenticates as, in the token file. */
export const TOKEN_USER = 'admin';
/**
 * The group of the federation's administrators (admin certificate and token): bound to
 * cluster-admin by a ClusterRoleBinding in the federation, so unlike system:masters it can be
 * revoked, as kubeadm's kubeadm:cluster-admins since 1.29.
 */
export const ADMIN_GROUP = 'kubectl-federation:cluster-admins';

/** Keys of the external etcd's client Secret. */
export const ETCD_CLIENT_KEYS = { ca: 'ca.crt', cert: 'client.crt', key: 'client.key' } as const;

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** The credentials before the API server's address is known: its serving certificate only if one was stored. */
export type StoredCredentials = Omit<FederationCredentials, 'server'> & { server?: CertAndKey };

/** The Secret of the credentials; without a serving certificate until the API server's address is known. */
export function credentialsSecret(cfg: InitConfig, creds: StoredCredentials): Typed<V1Secret> {
  const k = CREDENTIAL_KEYS;
  const data: Record<string, string> = {
    [k.caCert]: b64(creds.ca.cert),
    [k.caKey]: b64(creds.ca.key),
    ...(creds.server ? { [k.serverCert]: b64(creds.server.cert), [k.serverKey]: b64(creds.server.key) } : {}),
    [k.controllerManagerCert]: b64(creds.controllerManager.cert),
    [k.controllerManagerKey]: b64(creds.controllerManager.key),
    [k.serviceAccountKey]: b64(creds.serviceAccount.privateKey),
    [k.serviceAccountPub]: b64(creds.serviceAccount.publicKey),
  };
  if (creds.etcd) {
    const e = creds.etcd;
    Object.assign(data, {
      [k.etcdCaCert]: b64(e.ca.cert),
      [k.etcdCaKey]: b64(e.ca.key),
      [k.etcdPeerCert]: b64(e.peer.cert),
      [k.etcdPeerKey]: b64(e.peer.key),
      [k.etcdClientCert]: b64(e.client.cert),
      [k.etcdClientKey]: b64(e.client.key),
    });
  }
  // kube-apiserver's static token file: token,user,uid,"group1,group2"
  if (creds.token) data[k.tokens] = b64(`${creds.token},${TOKEN_USER},${TOKEN_USER},"${ADMIN_GROUP}"\n`);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(CREDENTIALS_SECRET, cfg.name, APISERVER_NAME, cfg.namespace),
    type: 'Opaque',
    data,
  };
}

/** External etcd's TLS files, for the API server to mount; undefined without them. */
export function etcdClientSecret(cfg: InitConfig): Typed<V1Secret> | undefined {
  const tls = cfg.etcd.tls;
  if (!tls) return undefined;
  const k = ETCD_CLIENT_KEYS;
  const data: Record<string, string> = {};
  if (tls.ca) data[k.ca] = b64(tls.ca);
  if (tls.cert) data[k.cert] = b64(tls.cert);
  if (tls.key) data[k.key] = b64(tls.key);
  return { apiVersion: 'v1', kind: 'Secret', metadata: metadata(ETCD_CLIENT_SECRET, cfg.name, APISERVER_NAME, cfg.namespace), type: 'Opaque', data };
}

export function controllerManagerKubeconfigSecret(cfg: InitConfig, kubeconfig: string): Typed<V1Secret> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(CONTROLLER_MANAGER_KUBECONFIG_SECRET, cfg.name, CONTROLLER_MANAGER_NAME, cfg.namespace),
    type: 'Opaque',
    data: { kubeconfig: b64(kubeconfig) },
  };
}

/** A short digest of some data, for pod annotations that restart pods when it changes. */
export function digest(...parts: (string | undefined)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p ?? '').update('\0');
  return h.digest('hex').slice(0, 16);
}
