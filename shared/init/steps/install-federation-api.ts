import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { RecordingTarget } from '../../kube/target.ts';
import { clusterCRD, controllerManagerClusterRole, controllerManagerClusterRoleBinding, propagationCRD } from '../../manifests/federation-api.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll } from '../../wait.ts';
import type { InitData } from '../data.ts';

/** Installs the Cluster and Propagation resources and the controller manager's permissions into the federation. */
export const installFederationAPI: Step<InitData> = {
  name: 'install-federation-api',
  title: () => 'Installing the federation API (Cluster and Propagation resources)',
  run: async (d) => {
    d.federation ??= new RecordingTarget();
    const federation = d.federation;
    const [crd] = await Promise.all([
      federation.apply(clusterCRD(d.cfg.name)),
      federation.apply(propagationCRD(d.cfg.name)),
      federation.apply(controllerManagerClusterRole(d.cfg.name)),
      federation.apply(controllerManagerClusterRoleBinding(d.cfg.name)),
    ]);
    if (federation.dryRun) return undefined;
    // Clusters can be created (by join, right after) only once the resource is established.
    const established = (c: V1CustomResourceDefinition | undefined) =>
      c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    if (established(crd)) return undefined;
    const started = Date.now();
    await poll(
      async () => {
        const c = await federation.read<V1CustomResourceDefinition>(crd.apiVersion, crd.kind, crd.metadata.name);
        return established(c) ? done(true) : notYet('the Cluster resource is not established yet');
      },
      { what: 'the Cluster resource to be established', timeoutMs: 60_000, intervalMs: 200 },
    );
    d.waitedMs += Date.now() - started;
    return undefined;
  },
};
