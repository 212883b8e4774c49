// How a member's credentials are kept in its Secret in the host cluster, written by join and read
// by the controller manager: the member's CA and a service-account token (the default), or a
// flattened kubeconfig (join --use-kubeconfig-credentials).
import { createHash } from 'node:crypto';
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
