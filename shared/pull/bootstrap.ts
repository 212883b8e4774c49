// Joining from the member's side, as kubeadm join does: a short-lived bootstrap token (a Kubernetes
// bootstrap-token Secret, checked by the API server itself) and the hash of the federation CA's
// public key, so the member trusts the federation it was told of and no other.
import { createHash, randomInt, X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { MANAGED_BY } from '../constants.ts';
import type { Typed } from '../manifests/types.ts';
import { bootstrapGroup } from './names.ts';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const pick = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

export interface BootstrapToken {
  id: string;
  secret: string;
}

/** A new token "abcdef.0123456789abcdef": the format the API server's bootstrap authenticator reads. */
export const newBootstrapToken = (): BootstrapToken => ({ id: pick(6), secret: pick(16) });

export const tokenText = (t: BootstrapToken): string => `${t.id}.${t.secret}`;

export function parseBootstrapToken(text: string): BootstrapToken | undefined {
  const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(text.trim());
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** The token's Secret in the federation's kube-system: valid for one cluster's join until `expires`. */
export function bootstrapTokenSecret(t: BootstrapToken, cluster: string, expires: Date): Typed<V1Secret> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: { name: `bootstrap-token-${t.id}`, namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'federation.kubectl-federation.io/cluster': cluster } },
    stringData: {
      'token-id': t.id,
      'token-secret': t.secret,
      expiration: expires.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'usage-bootstrap-authentication': 'true',
      'auth-extra-groups': bootstrapGroup(cluster),
      description: `kubectl federation join ${cluster} --pull`,
    },
  };
}

/** "sha256:<hex>" of the CA certificate's SubjectPublicKeyInfo: kubeadm's --discovery-token-ca-cert-hash. */
export function caCertHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The first certificate of a PEM bundle whose key has the hash, if any. */
export function certificateWithHash(bundle: string, hash: string): string | undefined {
  const certs = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return certs.find((c) => {
    try {
      return caCertHash(c) === hash.toLowerCase();
    } catch {
      return false;
    }
  });
}
