import { credentialsSecretInFederation, memberObjectNames } from '../../manifests/member.ts';
import { membersNamespace } from '../../manifests/federation-api.ts';
import { MEMBER_SECRET_KEYS } from '../../member-credentials.ts';
import type { Step } from '../../steps.ts';
import type { JoinData } from '../data.ts';

/** The same credentials but for the token: every join asks for a fresh token, which is no repair. */
const sameData = (a: Record<string, string>, b: Record<string, string>) => {
  const keys = (o: Record<string, string>) => Object.keys(o).filter((k) => k !== MEMBER_SECRET_KEYS.token);
  return keys(a).length === keys(b).length && keys(a).every((k) => b[k] === a[k]) && (MEMBER_SECRET_KEYS.token in a) === (MEMBER_SECRET_KEYS.token in b);
};

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
