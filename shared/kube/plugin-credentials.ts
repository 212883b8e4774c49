// Credentials from exec plugins (client.authentication.k8s.io ExecCredential), as kubectl runs
// them: the command with its args and env, KUBERNETES_EXEC_INFO describing the request, and a
// token or client certificate read from its output. Written here rather than taken from
// @kubernetes/client-node because loading that library costs every command its start-up time
// (three times kubectl's), while this protocol is a page long.
import { spawn } from 'node:child_process';
import { errorMessage, UserError } from '../errors.ts';
import type { ResolvedContext } from '../kubeconfig.ts';
import type { Credentials } from './credentials.ts';

interface ExecConfig {
  apiVersion?: string;
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: 'Never' | 'IfAvailable' | 'Always';
}

interface ExecCredential {
  apiVersion?: string;
  status?: { token?: string; clientCertificateData?: string; clientKeyData?: string };
}

/** A plugin gets at most a minute, or the command's --request-timeout when that is shorter. */
const TIMEOUT_MS = 60_000;
const SUPPORTED = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

/** Runs the plugin (its stdin the terminal when interactive), bounded by timeoutMs; its stdout. */
function runPlugin(context: string, exec: ExecConfig, env: NodeJS.ProcessEnv, interactive: boolean, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(exec.command!, exec.args ?? [], { env, stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'] });
    // Not spawn's own timeout: its timer outlives a plugin that never started, holding the process.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      if (out.length < 1 << 20) out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 1 << 16) err += c.toString();
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') {
        reject(new UserError(`context "${context}" needs the credential plugin "${exec.command}", which is not installed${exec.installHint ? `: ${exec.installHint}` : ''}`));
      } else reject(new UserError(`the credential plugin "${exec.command}" of context "${context}" failed: ${errorMessage(e)}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve(out);
      const why = timedOut ? `it gave no answer within ${timeoutMs / 1000}s` : (err.trim().split('\n').at(-1) ?? '') || `exit code ${code}`;
      reject(new UserError(`the credential plugin "${exec.command}" of context "${context}" failed: ${why}`));
    });
  });
}

export async function pluginCredentials(ctx: ResolvedContext, creds: Credentials, requestTimeoutMs = TIMEOUT_MS): Promise<void> {
  const timeoutMs = requestTimeoutMs > 0 ? Math.min(TIMEOUT_MS, requestTimeoutMs) : TIMEOUT_MS;
  if (ctx.user['auth-provider']) {
    const name = (ctx.user['auth-provider'] as { name?: string }).name ?? 'an auth provider';
    throw new UserError(
      `context "${ctx.name}" authenticates with the ${name} auth-provider, which kubectl no longer supports: switch its user to an exec plugin (for example gke-gcloud-auth-plugin, kubelogin)`,
    );
  }
  const exec = ctx.user.exec as ExecConfig | undefined;
  if (!exec?.command) throw new UserError(`context "${ctx.name}": its exec plugin names no command`);
  const apiVersion = exec.apiVersion;
  if (!apiVersion || !SUPPORTED.includes(apiVersion)) {
    throw new UserError(`context "${ctx.name}": its exec plugin's apiVersion "${apiVersion ?? ''}" is not one of ${SUPPORTED.join(', ')}`);
  }
  // client.authentication.k8s.io/v1 makes the mode explicit, as kubectl requires; v1beta1 defaults it.
  const mode = exec.interactiveMode ?? (apiVersion.endsWith('/v1') ? undefined : 'IfAvailable');
  if (!mode) throw new UserError(`context "${ctx.name}": its exec plugin (${apiVersion}) must say interactiveMode (Never, IfAvailable or Always), as kubectl requires`);
  const terminal = process.stdin.isTTY === true;
  if (mode === 'Always' && !terminal) {
    throw new UserError(
      `the credential plugin "${exec.command}" of context "${ctx.name}" needs a terminal (interactiveMode: Always) and there is none: run the command in a terminal, or log in with the plugin first`,
    );
  }
  const interactive = mode !== 'Never' && terminal;
  const info = {
    apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive,
      ...(exec.provideClusterInfo
        ? {
            cluster: {
              server: creds.server,
              'certificate-authority-data': creds.ca?.toString('base64'),
              'insecure-skip-tls-verify': creds.insecureSkipTLSVerify,
              ...(creds.tlsServerName ? { 'tls-server-name': creds.tlsServerName } : {}),
              ...(creds.proxy ? { 'proxy-url': creds.proxy } : {}),
            },
          }
        : {}),
    },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  const stdout = await runPlugin(ctx.name, exec, env, interactive, timeoutMs);
  let cred: ExecCredential;
  try {
    cred = JSON.parse(stdout) as ExecCredential;
  } catch {
    throw new UserError(`the credential plugin "${exec.command}" of context "${ctx.name}" printed no ExecCredential`);
  }
  if (cred.apiVersion !== apiVersion) {
    throw new UserError(`the credential plugin "${exec.command}" of context "${ctx.name}" answered in ${cred.apiVersion ?? 'no apiVersion'}, not ${apiVersion} as configured`);
  }
  const status = cred.status ?? {};
  if (status.token) creds.token = status.token;
  if (status.clientCertificateData) creds.cert = Buffer.from(status.clientCertificateData);
  if (status.clientKeyData) creds.key = Buffer.from(status.clientKeyData);
  if (!status.token && !status.clientCertificateData) {
    throw new UserError(`the credential plugin "${exec.command}" of context "${ctx.name}" returned neither a token nor a certificate`);
  }
}
