// The controller manager's client of the federation API server, from the kubeconfig init mounts.
import { Kubeconfig } from '../shared/kubeconfig.ts';
import { credentialsFor } from '../shared/kube/credentials.ts';
import { RestClient } from '../shared/kube/rest.ts';

const USER_AGENT = 'kubectl-federation-controller-manager';

export async function clientFromKubeconfig(path: string, context: string | undefined, timeoutMs: number): Promise<RestClient> {
  const kc = Kubeconfig.load(path);
  return new RestClient(await credentialsFor(kc.resolve(context)), timeoutMs, USER_AGENT);
}
