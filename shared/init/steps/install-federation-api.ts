import type { V1CustomResourceDefinition, V1Secret } from '@kubernetes/client-node';
import { CLUSTER_LABEL, FEDERATION_LABEL } from '../../constants.ts';
import { applyObject, deleteObject } from '../../kube/apply.ts';
import { collectionPath } from '../../kube/resources.ts';
import { RestClient } from '../../kube/rest.ts';
import { LiveTarget, RecordingTarget, type Target } from '../../kube/target.ts';
import {
  adminsClusterRoleBinding,
  clusterCRD,
  controllerManagerClusterRole,
  controllerManagerClusterRoleBinding,
  membersNamespace,
  propagationCRD,
} from '../../manifests/federation-api.ts';
import { federationPolicies } from '../../manifests/federation-policies.ts';
import { overrideCRD } from '../../manifests/override-api.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll } from '../../wait.ts';
import { federationProxy, type InitData, need } from '../data.ts';

/**
 * Where the federation API is installed from. A new admin certificate's group is bound nowhere
 * yet, so a new plane is installed with the in-memory bootstrap certificate (system:masters), the
 * binding in parallel with everything else; a kept admin certificate installs it itself.
 */
function installer(d: InitData, federation: Target): { target: Target; close: () => void } {
  if (federation.dryRun || !d.bootstrap) return { target: federation, close: () => undefined };
  const endpoint = need(d.endpoint, 'the endpoint');
  const ca = need(d.credentials, 'the credentials').ca.cert;
  const proxy = federationProxy(d, endpoint.url);
  const client = new RestClient({ server: endpoint.url, ca: Buffer.from(ca), cert: Buffer.from(d.bootstrap.cert), key: Buffer.from(d.bootstrap.key), ...(proxy ? { proxy } : {}) }, d.requestTimeoutMs);
  const target = new LiveTarget(client);
  return {
    target,
    close: () => {
      d.extraRequests += client.requests;
      d.changes += target.changed;
      client.close();
    },
  };
}

/** An older install's member Secrets, moved from the host's namespace into the federation's. */
async function moveMemberSecrets(d: InitData, federation: RestClient): Promise<number> {
  const host = need(d.hostClient, 'the host client');
  const { cfg } = d;
  const secrets = await host.get<{ items: V1Secret[] }>(collectionPath('v1', 'Secret', cfg.namespace), {
    query: { labelSelector: `${FEDERATION_LABEL}=${cfg.name},${CLUSTER_LABEL}` },
  });
  for (const s of secrets.items) {
    const { name, labels } = s.metadata!;
    await applyObject(federation, { apiVersion: 'v1', kind: 'Secret', metadata: { name: name!, namespace: cfg.namespace, labels: labels ?? {} }, type: s.type ?? 'Opaque', data: s.data ?? {} });
    await deleteObject(host, { apiVersion: 'v1', kind: 'Secret', metadata: { name: name!, namespace: cfg.namespace } });
  }
  return secrets.items.length;
}

/** Installs the federation API (Cluster and Propagation), the admins' and the controller manager's permissions, and the placement and Cluster policies. */
export const installFederationAPI: Step<InitData> = {
  name: 'install-federation-api',
  title: () => 'Installing the federation API (Cluster and Propagation resources)',
  run: async (d) => {
    d.federation ??= new RecordingTarget();
    const federation = d.federation;
    const { target, close } = installer(d, federation);
    const [crd] = await Promise.all([
      target.apply(clusterCRD(d.cfg.name)),
      target.apply(adminsClusterRoleBinding(d.cfg.name)),
      target.apply(propagationCRD(d.cfg.name)),
      target.apply(overrideCRD(d.cfg.name)),
      target.apply(overrideCRD(d.cfg.name, 'Cluster')),
      target.apply(controllerManagerClusterRole(d.cfg.name)),
      target.apply(controllerManagerClusterRoleBinding(d.cfg.name)),
      target.apply(membersNamespace(d.cfg.name, d.cfg.namespace)),
      // Who may place objects and change Clusters, beyond what RBAC says.
      ...federationPolicies(d.cfg.name).map((o) => target.apply(o)),
    ]).finally(close);
    if (federation.dryRun) return undefined;
    // Clusters can be created (by join, right after) only once the resource is established, and
    // the admin's requests pass once the API server's authorizer has seen the new binding: both
    // are read back as the admin (a 403 until then is retried).
    const established = (c: V1CustomResourceDefinition | undefined) =>
      c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    const started = Date.now();
    const sent = federation instanceof LiveTarget ? federation.client.requests : 0;
    await poll(
      async () => {
        const c = await federation.read<V1CustomResourceDefinition>(crd.apiVersion, crd.kind, crd.metadata.name);
        return established(c) ? done(true) : notYet('the Cluster resource is not established yet');
      },
      { what: 'the Cluster resource to be established', timeoutMs: 60_000, intervalMs: 50 },
    );
    d.waitedMs += Date.now() - started;
    d.waitRequests += (federation instanceof LiveTarget ? federation.client.requests : 0) - sent;
    const moved = d.moveMemberSecrets && federation instanceof LiveTarget ? await moveMemberSecrets(d, federation.client) : 0;
    d.changes += moved;
    return moved > 0 ? `moved ${moved} member credential Secrets from the host into the federation` : undefined;
  },
};
