// The controller manager's two clients: the federation API server (from the kubeconfig init
// mounts) and the host cluster (in-cluster service account, or a kubeconfig outside a cluster).
import { readFileSync } from 'node:fs';
import { UserError } from '../shared/errors.ts';
import { Kubeconfig } from '../shared/kubeconfig.ts';
import { credentialsFor } from '../shared/kube/credentials.ts';
import { RestClient } from '../shared/kube/rest.ts';

const USER_AGENT = 'kubectl-federation-controller-manager';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export async function clientFromKubeconfig(path: string, context: string | undefined, timeoutMs: number): Promise<RestClient> {
  const kc = Kubeconfig.load(path);
  return new RestClient(await credentialsFor(kc.resolve(context)), timeoutMs, USER_AGENT);
}

/** The pod's own service account, as every in-cluster client finds it. */
export function inClusterClient(timeoutMs: number): RestClient {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new UserError('not running in a cluster (KUBERNETES_SERVICE_HOST is not set): pass --host-kubeconfig');
  try {
    return new RestClient(
      {
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        token: readFileSync(`${SERVICE_ACCOUNT_DIR}/token`, 'utf8').trim(),
        tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
        ca: readFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`),
      },
      timeoutMs,
      USER_AGENT,
    );
  } catch (err) {
    throw new UserError(`cannot read the pod's service account from ${SERVICE_ACCOUNT_DIR}: ${(err as Error).message}`);
  }
}
