import { credentialsSecretInFederation, memberObjectNames } from '../../manifests/member.ts';
import { membersNamespace } from '../../manifests/federation-api.ts';
import type { Step } from '../../steps.ts';
import type { JoinData } from '../data.ts';

const sameData = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

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
    const secret = credentialsSecretInFederation(d.m.names, d.secretData ?? {});
    if (d.alreadyJoined && !d.targets.federation.dryRun) {
      const stored = await d.targets.federation.read<{ data?: Record<string, string> }>('v1', 'Secret', secret.metadata.name, secret.metadata.namespace);
      if (!stored) d.repaired.push(`the federation had lost the member's credentials (Secret ${secret.metadata.namespace}/${secret.metadata.name}): stored them again`);
      else if (!sameData(stored.data ?? {}, secret.data ?? {})) d.repaired.push("the credentials the federation held were no longer the member's current ones: replaced them");
    }
    await d.targets.federation.apply(secret);
  },
};
