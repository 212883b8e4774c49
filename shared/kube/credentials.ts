// Turns a kubeconfig context into what an HTTPS request needs: server, CA, client certificate or
// bearer token. Certificates and tokens are read directly; exec plugins and auth providers need a
// PluginCredentials (plugin-credentials.ts, for the CLI), which the controller manager never loads.
import { readFileSync } from 'node:fs';
import { errorMessage, UserError } from '../errors.ts';
import type { ResolvedContext } from '../kubeconfig.ts';
import { proxyFor } from './proxy.ts';

export interface Credentials {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /**
   * Where token came from: a long-running client reads it again now and then, as client-go does,
   * because the kubelet replaces projected service-account tokens before they expire.
   */
  tokenFile?: string;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  /** The HTTP(S) proxy to tunnel through (proxy-url, else HTTPS_PROXY unless NO_PROXY). */
  proxy?: string;
  /** Impersonate-User / -Group / -Uid headers: the user entry's `as` fields or --as flags. */
  impersonate?: Impersonation;
}

export interface Impersonation {
  user?: string;
  groups?: string[];
  uid?: string;
}

let impersonationFlags: Impersonation | undefined;

/** kubectl's --as, --as-group and --as-uid: they apply to every request of this command. */
export function setImpersonation(flags: Impersonation | undefined): void {
  impersonationFlags = flags;
}

function dataOrFile(data: string | undefined, file: string | undefined, what: string): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UserError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
    }
  }
  return undefined;
}

/** True when the context's user runs a program or a provider for its credentials. */
export function usesCredentialPlugin(ctx: ResolvedContext): boolean {
  return ctx.user.exec !== undefined || ctx.user['auth-provider'] !== undefined;
}

/** Fills in credentials that an exec plugin or auth provider hands out. */
export type PluginCredentials = (ctx: ResolvedContext, creds: Credentials) => Promise<void>;

export async function credentialsFor(ctx: ResolvedContext, plugins?: PluginCredentials): Promise<Credentials> {
  const { cluster, user } = ctx;
  const creds: Credentials = {
    server: cluster.server.replace(/\/+$/, ''),
    ca: dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate authority'),
    cert: dataOrFile(user['client-certificate-data'], user['client-certificate'], 'client certificate'),
    key: dataOrFile(user['client-key-data'], user['client-key'], 'client key'),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: cluster['tls-server-name'],
  };
  const proxy = proxyFor(creds.server, cluster['proxy-url']);
  if (proxy) creds.proxy = proxy;
  // As client-go merges them: a flag wins over the user entry's field of the same kind.
  const impersonate: Impersonation = {
    ...(user.as ? { user: user.as } : {}),
    ...(user['as-groups']?.length ? { groups: user['as-groups'] } : {}),
    ...(user['as-uid'] ? { uid: user['as-uid'] } : {}),
    ...(impersonationFlags?.user ? { user: impersonationFlags.user } : {}),
    ...(impersonationFlags?.groups?.length ? { groups: impersonationFlags.groups } : {}),
    ...(impersonationFlags?.uid ? { uid: impersonationFlags.uid } : {}),
  };
  if (impersonate.groups && !impersonate.user) {
    throw new UserError(`context "${ctx.name}": impersonating groups needs a user to impersonate too (--as or the user's "as")`);
  }
  if (impersonate.user) creds.impersonate = impersonate;
  if (user.token) creds.token = user.token;
  else if (user.tokenFile) {
    creds.token = dataOrFile(undefined, user.tokenFile, 'token file')?.toString().trim();
    creds.tokenFile = user.tokenFile;
  }
  if (user.username || user.password) {
    throw new UserError(
      `context "${ctx.name}" authenticates with a username and password; Kubernetes removed basic authentication in 1.19: use a token or client certificate`,
    );
  }
  if (usesCredentialPlugin(ctx)) {
    if (!plugins) throw new UserError(`context "${ctx.name}" gets its credentials from an exec plugin or auth provider, which cannot run here`);
    await plugins(ctx, creds);
  }
  return creds;
}
