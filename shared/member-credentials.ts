// How a member's credentials are kept in its Secret in the host cluster, written by join and read
// by the controller manager: the member's CA and a service-account token (the default), or a
// flattened kubeconfig (join --use-kubeconfig-credentials).
import { createHash } from 'node:crypto';
import { FEDERATION_ID_LABEL } from './constants.ts';
import { UserError } from './errors.ts';
import { Kubeconfig } from './kubeconfig.ts';
import { type Credentials, credentialsFor } from './kube/credentials.ts';

export const MEMBER_SECRET_KEYS = { caCert: 'ca.crt', token: 'token', kubeconfig: 'kubeconfig' } as const;

/** Credentials for server from a member Secret's (base64) data; throws UserError when unusable. */
export async function memberCredentials(data: Record<string, string> | undefined, server: string): Promise<Credentials> {
  const get = (key: string) => (data?.[key] ? Buffer.from(data[key], 'base64') : undefined);
  const kubeconfig = get(MEMBER_SECRET_KEYS.kubeconfig);
  if (kubeconfig) {
    const kc = Kubeconfig.fromText(kubeconfig.toString());
    const creds = await credentialsFor(kc.resolve(undefined));
    return { ...creds, server };
  }
  const token = get(MEMBER_SECRET_KEYS.token)?.toString().trim();
  if (!token) throw new UserError(`it has neither "${MEMBER_SECRET_KEYS.token}" nor "${MEMBER_SECRET_KEYS.kubeconfig}"`);
  return { server, token, ca: get(MEMBER_SECRET_KEYS.caCert) };
}

/**
 * The federation's short identity (from its kube-system namespace's UID): labels what join creates
 * in a member and every propagated copy, so two federations of one name never touch each other's.
 */
export function federationIdFromUid(uid: string): string {
  return createHash('sha256').update(uid).digest('hex').slice(0, 6);
}

/**
 * A restored federation keeps the identity of the one backed up (its members' copies carry it), in
 * this annotation on its kube-system namespace; a federation never restored derives it from the UID.
 */
// The key of the label join puts on what it makes in a member, here as an annotation.
export const FEDERATION_ID_ANNOTATION = FEDERATION_ID_LABEL;

export interface KubeSystem {
  metadata: { uid: string; annotations?: Record<string, string> };
}

export const federationIdOf = (kubeSystem: KubeSystem): string => kubeSystem.metadata.annotations?.[FEDERATION_ID_ANNOTATION] ?? federationIdFromUid(kubeSystem.metadata.uid);

/** The federation's identity, read from its API server. */
export const readFederationId = async (client: { get<T>(path: string): Promise<T> }): Promise<string> => federationIdOf(await client.get<KubeSystem>('/api/v1/namespaces/kube-system'));

/** How long a member token join or the controller manager asks for lives; renewed after half of it. */
export const MEMBER_TOKEN_LIFETIME_S = 7 * 24 * 3600;
/** The API server's shortest TokenRequest (10 minutes). */
export const MIN_TOKEN_LIFETIME_S = 600;

export interface TokenClaims {
  /** "system:serviceaccount:NS:NAME" */
  sub?: string;
  /** Seconds since the epoch; absent from the non-expiring tokens of token Secrets. */
  exp?: number;
  iat?: number;
}

/** What a service-account token says of itself (its payload, unverified: for scheduling, not trust). */
export function tokenClaims(token: string): TokenClaims {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as TokenClaims;
    return typeof payload === 'object' && payload !== null ? payload : {};
  } catch {
    return {};
  }
}

/** The service account a token is for, from its subject. */
export function tokenServiceAccount(token: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(tokenClaims(token).sub ?? '');
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

/** A TokenRequest for a service account: a token that expires (bound to the account: deleting it revokes the token). */
export async function requestToken(
  client: { request<T>(method: string, path: string, options?: { body?: unknown; timeoutMs?: number }): Promise<T> },
  namespace: string,
  serviceAccount: string,
  lifetimeSeconds: number,
): Promise<{ token: string; expires: string }> {
  const res = await client.request<{ status?: { token?: string; expirationTimestamp?: string } }>(
    'POST',
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: lifetimeSeconds } } },
  );
  if (!res.status?.token) throw new Error(`the TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return { token: res.status.token, expires: res.status.expirationTimestamp ?? '' };
}
