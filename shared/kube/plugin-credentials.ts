// Credentials from exec plugins and auth providers, through @kubernetes/client-node, which runs
// the plugin and refreshes tokens as kubectl does. Its weight is paid only by contexts that use one.
import { errorMessage, UserError } from '../errors.ts';
import type { ResolvedContext } from '../kubeconfig.ts';
import type { Credentials } from './credentials.ts';

export async function pluginCredentials(ctx: ResolvedContext, creds: Credentials): Promise<void> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: ctx.clusterName, server: creds.server, skipTLSVerify: creds.insecureSkipTLSVerify ?? false }],
    users: [{ name: ctx.userName, exec: ctx.user.exec, authProvider: ctx.user['auth-provider'] }],
    contexts: [{ name: ctx.name, cluster: ctx.clusterName, user: ctx.userName }],
    currentContext: ctx.name,
  });
  const opts: { headers?: Record<string, string>; cert?: Buffer | string; key?: Buffer | string } = {};
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    throw new UserError(`getting credentials for context "${ctx.name}" failed: ${errorMessage(err)}`);
  }
  const auth = opts.headers?.Authorization ?? opts.headers?.authorization;
  if (auth?.startsWith('Bearer ')) creds.token = auth.slice('Bearer '.length);
  if (opts.cert) creds.cert = Buffer.from(opts.cert);
  if (opts.key) creds.key = Buffer.from(opts.key);
}
