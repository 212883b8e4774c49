// The federation's credentials, reused wherever they already exist: re-running init must not
// rotate a CA or a key that clients already trust (kubeadm keeps an existing CA the same way).
import { randomBytes, X509Certificate } from 'node:crypto';
import { ADMIN_GROUP, CREDENTIAL_KEYS, type EtcdCredentials, type StoredCredentials } from '../manifests/credentials.ts';
import { etcdCertificateNames, etcdCluster } from '../manifests/etcd.ts';
import { CONTROLLER_MANAGER_USER } from '../manifests/federation-api.ts';
import {
  type CertAndKey,
  isSignedBy,
  newCertificateAuthority,
  newKeyPair,
  newSignedCertificate,
  subjectAltNames,
  type EncryptionAlgorithm,
} from '../pki.ts';
import type { InitConfig } from '../manifests/config.ts';

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

export const ADMIN_USER = 'admin';

function decode(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString();
  return out;
}

/** A certificate worth keeping: signed by ca, not close to expiry, naming every required name. */
function usable(pair: Partial<CertAndKey>, ca: CertAndKey, requiredNames: string[] = []): pair is CertAndKey {
  if (!pair.cert || !pair.key) return false;
  try {
    if (!isSignedBy(pair.cert, ca.cert)) return false;
    if (Date.parse(new X509Certificate(pair.cert).validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    const names = new Set(subjectAltNames(pair.cert));
    return requiredNames.every((n) => names.has(n));
  } catch {
    return false;
  }
}

export interface CredentialsResult {
  /** With the serving certificate stored before, if any: ensureServingCertificate decides whether it still serves. */
  credentials: StoredCredentials;
  /** What was made new this time (empty on a re-run that changed nothing). */
  created: string[];
}

export async function ensureCredentials(cfg: InitConfig, existingSecretData: Record<string, string> | undefined): Promise<CredentialsResult> {
  const k = CREDENTIAL_KEYS;
  const old = decode(existingSecretData);
  const created: string[] = [];

  let ca: CertAndKey;
  const oldCA = { cert: old[k.caCert], key: old[k.caKey] };
  if (oldCA.cert && oldCA.key) {
    ca = { cert: oldCA.cert, key: oldCA.key };
  } else {
    ca = await newCertificateAuthority(cfg.name, cfg.encryptionAlgorithm);
    created.push('CA');
  }

  // The certificates and keys that are missing or unusable are made at once, in parallel.
  const oldCM = { cert: old[k.controllerManagerCert], key: old[k.controllerManagerKey] };
  const oldSAKey = old[k.serviceAccountKey];
  const oldSAPub = old[k.serviceAccountPub];
  const [controllerManager, serviceAccount] = await Promise.all([
    usable(oldCM, ca)
      ? oldCM
      : (created.push('controller manager certificate'),
        newSignedCertificate({ commonName: CONTROLLER_MANAGER_USER, usage: 'client', validityMs: cfg.certValidityMs }, ca, cfg.encryptionAlgorithm)),
    oldSAKey && oldSAPub
      ? { privateKey: oldSAKey, publicKey: oldSAPub }
      : (created.push('service-account key'), newKeyPair(cfg.encryptionAlgorithm)),
  ]);
  const oldServer = { cert: old[k.serverCert], key: old[k.serverKey] };
  const credentials: StoredCredentials = { ca, controllerManager, serviceAccount, ...(oldServer.cert && oldServer.key ? { server: { cert: oldServer.cert, key: oldServer.key } } : {}) };
  if (etcdCluster(cfg)) credentials.etcd = await ensureEtcdCredentials(cfg, old, created);
  if (cfg.tokenAuth) {
    const oldToken = old[k.tokens]?.split(',')[0];
    if (oldToken) credentials.token = oldToken;
    else {
      credentials.token = randomBytes(32).toString('hex');
      created.push('token');
    }
  }
  return { credentials, created };
}

/** etcd's CA, its members' certificate and the API server's client certificate: kept where usable. */
async function ensureEtcdCredentials(cfg: InitConfig, old: Record<string, string>, created: string[]): Promise<EtcdCredentials> {
  const k = CREDENTIAL_KEYS;
  let ca: CertAndKey;
  const oldCA = { cert: old[k.etcdCaCert], key: old[k.etcdCaKey] };
  if (oldCA.cert && oldCA.key) ca = { cert: oldCA.cert, key: oldCA.key };
  else {
    ca = await newCertificateAuthority(`${cfg.name}-etcd`, cfg.encryptionAlgorithm);
    created.push('etcd CA');
  }
  const oldPeer = { cert: old[k.etcdPeerCert], key: old[k.etcdPeerKey] };
  const oldClient = { cert: old[k.etcdClientCert], key: old[k.etcdClientKey] };
  const [peer, client] = await Promise.all([
    usable(oldPeer, ca, etcdCertificateNames(cfg))
      ? oldPeer
      : (created.push('etcd member certificate'),
        newSignedCertificate({ commonName: 'etcd', usage: 'peer', altNames: etcdCertificateNames(cfg), validityMs: cfg.certValidityMs }, ca, cfg.encryptionAlgorithm)),
    usable(oldClient, ca)
      ? oldClient
      : (created.push('etcd client certificate'),
        newSignedCertificate({ commonName: 'kube-apiserver-etcd-client', usage: 'client', validityMs: cfg.certValidityMs }, ca, cfg.encryptionAlgorithm)),
  ]);
  return { ca, peer, client };
}

/** The API server's serving certificate: the one stored if it names every address, else a new one. */
export async function ensureServingCertificate(cfg: InitConfig, stored: StoredCredentials, serverNames: string[]): Promise<{ server: CertAndKey; created: boolean }> {
  const { ca, server: oldServer = {} } = stored;
  if (usable(oldServer, ca, serverNames)) return { server: oldServer, created: false };
  const server = await newSignedCertificate({ commonName: 'federation-apiserver', usage: 'server', altNames: serverNames, validityMs: cfg.certValidityMs }, ca, cfg.encryptionAlgorithm);
  return { server, created: true };
}

/** Whether a certificate's subject names exactly this organization (group). */
function inGroup(cert: string, group: string): boolean {
  const orgs = new X509Certificate(cert).subject.split('\n').filter((l) => l.startsWith('O=')).map((l) => l.slice(2));
  return orgs.length === 1 && orgs[0] === group;
}

/** The admin's client certificate, in ADMIN_GROUP: a new one unless the kubeconfig's is usable. */
export function newAdminCertificate(ca: CertAndKey, validityMs?: number, algorithm?: EncryptionAlgorithm): Promise<CertAndKey> {
  return newSignedCertificate({ commonName: ADMIN_USER, organizations: [ADMIN_GROUP], usage: 'client', ...(validityMs ? { validityMs } : {}) }, ca, algorithm);
}

/**
 * A system:masters certificate valid for an hour and kept in memory only: the one identity that
 * can create the admin group's ClusterRoleBinding before that binding exists (kubeadm's
 * super-admin.conf plays this part, but is kept on disk).
 */
export function newBootstrapCertificate(ca: CertAndKey): Promise<CertAndKey> {
  return newSignedCertificate({ commonName: 'kubectl-federation:bootstrap', organizations: ['system:masters'], usage: 'client', validityMs: 3600_000 }, ca);
}

/**
 * The admin's client certificate: the one in the kubeconfig if this CA signed it for ADMIN_GROUP
 * (an older system:masters one is replaced), else a new one, with the bootstrap certificate that
 * grants its group.
 */
export async function ensureAdminCertificate(
  ca: CertAndKey,
  existing: { cert?: string; key?: string },
  validityMs?: number,
  algorithm?: EncryptionAlgorithm,
): Promise<{ admin: CertAndKey; created: boolean; bootstrap?: CertAndKey }> {
  if (usable(existing, ca) && inGroup(existing.cert, ADMIN_GROUP)) return { admin: existing, created: false };
  const [admin, bootstrap] = await Promise.all([newAdminCertificate(ca, validityMs, algorithm), newBootstrapCertificate(ca)]);
  return { admin, created: true, bootstrap };
}
