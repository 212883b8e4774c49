// Credentials from exec plugins (client.authentication.k8s.io ExecCredential), as kubectl runs
// them: the command with its args and env, KUBERNETES_EXEC_INFO describing the request, and a
// token or client certificate read from its output. Written here rather than taken from
// @kubernetes/client-node because loading that library costs every command its start-up time
// (three times kubectl's), while this protocol is a page long.
import { execFile } from 'node:child_process';
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
}

interface ExecCredential {
  status?: { token?: string; clientCertificateData?: string; clientKeyData?: string };
}

const TIMEOUT_MS = 60_000;

export async function pluginCredentials(ctx: ResolvedContext, creds: Credentials): Promise<void> {
  if (ctx.user['auth-provider']) {
    const name = (ctx.user['auth-provider'] as { name?: string }).name ?? 'an auth provider';
    throw new UserError(
      `context "${ctx.name}" authenticates with the ${name} auth-provider, which kubectl no longer supports: switch its user to an exec plugin (for example gke-gcloud-auth-plugin, kubelogin)`,
    );
  }
  const exec = ctx.user.exec as ExecConfig | undefined;
  if (!exec?.command) throw new UserError(`context "${ctx.name}": its exec plugin names no command`);
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  const info = {
    apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? { cluster: { server: creds.server, 'certificate-authority-data': creds.ca?.toString('base64'), 'insecure-skip-tls-verify': creds.insecureSkipTLSVerify } }
        : {}),
    },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(exec.command!, exec.args ?? [], { env, timeout: TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, out, stderr) => {
      if (!err) return resolve(out);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return reject(new UserError(`context "${ctx.name}" needs the credential plugin "${exec.command}", which is not installed${exec.installHint ? `: ${exec.installHint}` : ''}`));
      }
      reject(new UserError(`the credential plugin "${exec.command}" of context "${ctx.name}" failed: ${(stderr || errorMessage(err)).trim()}`));
    });
  });
  let cred: ExecCredential;
  try {
    cred = JSON.parse(stdout) as ExecCredential;
  } catch {
    throw new UserError(`the credential plugin "${exec.command}" of context "${ctx.name}" printed no ExecCredential`);
  }
  const status = cred.status ?? {};
  if (status.token) creds.token = status.token;
  if (status.clientCertificateData) creds.cert = Buffer.from(status.clientCertificateData);
  if (status.clientKeyData) creds.key = Buffer.from(status.clientKeyData);
  if (!status.token && !status.clientCertificateData) {
    throw new UserError(`the credential plugin "${exec.command}" of context "${ctx.name}" returned neither a token nor a certificate`);
  }
}
