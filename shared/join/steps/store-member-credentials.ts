import { hostCredentialsSecret, memberObjectNames } from '../../manifests/member.ts';
import type { Step } from '../../steps.ts';
import type { JoinData } from '../data.ts';

/** Step 3: the member's credentials in a Secret of the host's federation namespace. */
export const storeMemberCredentials: Step<JoinData> = {
  name: 'store-member-credentials',
  title: (d) => `Storing the credentials in the host cluster (Secret ${d.m.names.namespace}/${memberObjectNames(d.m.names).hostSecret})`,
  run: async (d) => {
    await d.targets.host.apply(hostCredentialsSecret(d.m.names, d.secretData ?? {}));
  },
};
