// Clients for tests: one KubeConfig per context of a local control plane kubeconfig.
import { ApiException, KubeConfig } from '@kubernetes/client-node';

export function kubeConfigFor(kubeconfigPath: string, context: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  kc.setCurrentContext(context);
  return kc;
}

/** A KubeConfig for the same server that authenticates with a bearer token only. */
export function tokenKubeConfig(admin: KubeConfig, token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'token-user', token }],
    contexts: [{ name: 'token', cluster: cluster.name, user: 'token-user' }],
    currentContext: 'token',
  });
  return kc;
}

/** The HTTP status of a failed API call (0 when it was not an API answer). */
export function statusOf(err: unknown): number {
  return err instanceof ApiException ? err.code : 0;
}

/** Runs call and returns the HTTP status it failed with; throws if it succeeded. */
export async function failureStatus(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
  } catch (err) {
    return statusOf(err);
  }
  throw new Error('expected the call to fail');
}

let counter = 0;
/** A name no other test of this run uses, so tests can share control planes. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}
