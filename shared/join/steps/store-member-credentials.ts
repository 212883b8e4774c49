import { credentialsSecretInFederation, memberObjectNames } from '../../manifests/member.ts';
import { membersNamespace } from '../../manifests/federation-api.ts';
import type { Step } from '../../steps.ts';
import type { JoinData } from '../data.ts';

/**
 * Step 3: the member's credentials in a Secret of the federation's namespace, in the federation
 * API server: the controller manager reads them there and needs nothing of the host.
 */
export const storeMemberCredentials: Step<JoinData> = {
  name: 'store-member-credentials',
  title: (d) => `Storing the credentials in the federation (Secret ${d.m.names.namespace}/${memberObjectNames(d.m.names).credentialsSecret})`,
  run: async (d) => {
    // init makes the namespace; applied again for federations made before it did.
    await d.targets.federation.apply(membersNamespace(d.m.names.federation, d.m.names.namespace));
    await d.targets.federation.apply(credentialsSecretInFederation(d.m.names, d.secretData ?? {}));
  },
};
