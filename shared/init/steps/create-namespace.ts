import type { V1Namespace } from '@kubernetes/client-node';
import { FEDERATION_LABEL } from '../../constants.ts';
import { UserError } from '../../errors.ts';
import { federationNamespace } from '../../manifests/namespace.ts';
import { POD_SECURITY_LEVEL } from '../../manifests/pod-security.ts';
import type { Step } from '../../steps.ts';
import type { InitData } from '../data.ts';

/** Step 1: the namespace of the federation's components; reused if it is this federation's. */
export const createNamespace: Step<InitData> = {
  name: 'create-namespace',
  title: (d) => `Creating a namespace ${d.cfg.namespace} for federation system components`,
  run: async (d) => {
    const { cfg, host } = d;
    const existing = await host.read<V1Namespace>('v1', 'Namespace', cfg.namespace);
    const owner = existing?.metadata?.labels?.[FEDERATION_LABEL];
    if (owner && owner !== cfg.name) {
      throw new UserError(
        `namespace ${cfg.namespace} already holds federation "${owner}": name that federation, or choose another --federation-system-namespace`,
      );
    }
    if (existing?.status?.phase === 'Terminating') {
      throw new UserError(`namespace ${cfg.namespace} is being deleted: wait until it is gone, then run init again`);
    }
    // A namespace init creates gets the Pod Security level its pods meet; one the user made keeps
    // the user's labels (a re-run keeps ours: dropping them from the apply would remove them).
    const enforce = existing?.metadata?.labels?.['pod-security.kubernetes.io/enforce'];
    await host.apply(federationNamespace(cfg, !existing || enforce === POD_SECURITY_LEVEL));
    d.namespaceExisted = existing !== undefined;
    return existing ? 'reused' : undefined;
  },
};
