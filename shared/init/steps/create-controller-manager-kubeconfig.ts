import { APISERVER_NAME } from '../../constants.ts';
import { controllerManagerKubeconfigSecret } from '../../manifests/credentials.ts';
import { kubeconfigText } from '../../manifests/kubeconfig.ts';
import type { Step } from '../../steps.ts';
import { type InitData, need } from '../data.ts';

/** The controller manager reaches the API server by its cluster-local DNS name. */
export function controllerManagerKubeconfig(d: InitData): string {
  const creds = need(d.clientCredentials, 'the credentials');
  return kubeconfigText({
    name: d.cfg.name,
    server: `https://${APISERVER_NAME}.${d.cfg.namespace}.svc`,
    caCert: creds.ca.cert,
    clientCert: creds.controllerManager.cert,
    clientKey: creds.controllerManager.key,
  });
}

/** Step 4: the controller manager's kubeconfig, in a Secret. */
export const createControllerManagerKubeconfig: Step<InitData> = {
  name: 'create-controller-manager-kubeconfig',
  title: () => 'Creating the controller manager kubeconfig secret',
  run: async (d) => {
    await d.host.apply(controllerManagerKubeconfigSecret(d.cfg, controllerManagerKubeconfig(d)));
  },
};
