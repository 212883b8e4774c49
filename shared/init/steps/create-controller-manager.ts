import {
  controllerManagerCode,
  controllerManagerDeployment,
  controllerManagerRole,
  controllerManagerRoleBinding,
  controllerManagerServiceAccount,
} from '../../manifests/controller-manager.ts';
import { digest } from '../../manifests/credentials.ts';
import type { Step } from '../../steps.ts';
import type { InitData } from '../data.ts';
import { controllerManagerKubeconfig } from './create-controller-manager-kubeconfig.ts';

/** Step 7: the controller manager: its identity, its code (stock Node.js image) and Deployment. */
export const createControllerManager: Step<InitData> = {
  name: 'create-controller-manager',
  title: () => 'Creating federation controller manager deployment',
  run: async (d) => {
    const { cfg, host } = d;
    const code = cfg.images.controllerManager ? undefined : controllerManagerCode(cfg, await d.controllerBundle());
    // Independent objects go out together; the Deployment last, once what it uses exists.
    await Promise.all([
      host.apply(controllerManagerServiceAccount(cfg)),
      host.apply(controllerManagerRole(cfg)),
      host.apply(controllerManagerRoleBinding(cfg)),
      code ? host.apply(code.configMap) : undefined,
    ]);
    await host.apply(controllerManagerDeployment(cfg, code, digest(controllerManagerKubeconfig(d))));
  },
};
