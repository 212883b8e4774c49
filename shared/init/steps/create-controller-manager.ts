import { CONTROLLER_MANAGER_NAME } from '../../constants.ts';
import { deleteObject } from '../../kube/apply.ts';
import { controllerManagerCode, controllerManagerDeployment, controllerManagerServiceAccount } from '../../manifests/controller-manager.ts';
import { digest } from '../../manifests/credentials.ts';
import { disruptionBudget } from '../../manifests/placement.ts';
import type { Step } from '../../steps.ts';
import type { InitData } from '../data.ts';
import { controllerManagerKubeconfig } from './create-controller-manager-kubeconfig.ts';

/**
 * Before this release the controller manager read members' Secrets in the host through a Role;
 * they now live in the federation. An upgrade deletes that Role (it could read the CA key) and
 * remembers to move the Secrets once the federation answers (install-federation-api).
 */
async function retireHostRole(d: InitData): Promise<void> {
  const { cfg, hostClient } = d;
  // A namespace this run made holds no Role of an older release: no request for it.
  if (!hostClient || !d.namespaceExisted) return;
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: CONTROLLER_MANAGER_NAME, namespace: cfg.namespace } };
  if (!(await d.host.read(role.apiVersion, role.kind, role.metadata.name, cfg.namespace))) return;
  await deleteObject(hostClient, { ...role, kind: 'RoleBinding' });
  await deleteObject(hostClient, role);
  d.moveMemberSecrets = true;
  d.changes += 1;
}

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
      code ? host.apply(code.configMap) : undefined,
      retireHostRole(d),
      cfg.ha ? host.apply(disruptionBudget(cfg, CONTROLLER_MANAGER_NAME)) : undefined,
    ]);
    await host.apply(controllerManagerDeployment(cfg, code, digest(controllerManagerKubeconfig(d))));
  },
};
