import type { V1Namespace } from '@kubernetes/client-node';
import { CREDENTIALS_SECRET, FEDERATION_LABEL } from '../../constants.ts';
import { UserError } from '../../errors.ts';
import { federationNamespace } from '../../manifests/namespace.ts';
import { POD_SECURITY_LEVEL } from '../../manifests/pod-security.ts';
import type { Step } from '../../steps.ts';
import type { InitData } from '../data.ts';

/**
 * Step 1: the namespace of the federation's components. One init created (it carries the
 * federation's label) is applied again; one the user made is used as it is, its labels untouched,
 * so nothing of init's stays on it after deinit; a namespace holding another federation is refused.
 */
export const createNamespace: Step<InitData> = {
  name: 'create-namespace',
  title: (d) => `Creating a namespace ${d.cfg.namespace} for federation system components`,
  run: async (d) => {
    const { cfg, host } = d;
    const existing = await host.read<V1Namespace>('v1', 'Namespace', cfg.namespace);
    // Whose federation is in it: the namespace's label if init made it, else its credentials Secret's.
    const credentials = existing ? await host.read<{ metadata?: { labels?: Record<string, string> } }>('v1', 'Secret', CREDENTIALS_SECRET, cfg.namespace) : undefined;
    const owner = existing?.metadata?.labels?.[FEDERATION_LABEL] ?? credentials?.metadata?.labels?.[FEDERATION_LABEL];
    if (owner && owner !== cfg.name) {
      throw new UserError(
        `namespace ${cfg.namespace} already holds federation "${owner}": name that federation, or choose another --federation-system-namespace`,
      );
    }
    if (existing?.status?.phase === 'Terminating') {
      throw new UserError(`namespace ${cfg.namespace} is being deleted: wait until it is gone, then run init again`);
    }
    d.namespaceExisted = existing !== undefined;
    const madeByInit = existing?.metadata?.labels?.[FEDERATION_LABEL] === cfg.name;
    if (existing && !madeByInit) return 'reused as it is: you made it';
    // A namespace init creates gets the Pod Security level its pods meet (a re-run keeps ours:
    // dropping the labels from the apply would remove them).
    const enforce = existing?.metadata?.labels?.['pod-security.kubernetes.io/enforce'];
    await host.apply(federationNamespace(cfg, !existing || enforce === POD_SECURITY_LEVEL));
    return existing ? 'reused' : undefined;
  },
};
