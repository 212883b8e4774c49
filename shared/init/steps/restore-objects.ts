import type { V1Secret, V1Service } from '@kubernetes/client-node';
import { APISERVER_NAME, CREDENTIALS_SECRET, ETCD_CLAIM, FEDERATION_API_VERSION } from '../../constants.ts';
import { UserError } from '../../errors.ts';
import { type BackedUpResource, type FederationBackup } from '../../backup/format.ts';
import { forCreate } from '../../backup/selection.ts';
import { resourcePath } from '../../kube/discovery.ts';
import { collectionPath, type KubeObject, objectPath } from '../../kube/resources.ts';
import { ApiError, ConnectionError, type RestClient } from '../../kube/rest.ts';
import { RESTORING_ANNOTATION } from '../../manifests/config.ts';
import { CREDENTIAL_KEYS } from '../../manifests/credentials.ts';
import { apiserverService } from '../../manifests/service.ts';
import { FEDERATION_ID_ANNOTATION } from '../../member-credentials.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll } from '../../wait.ts';
import { type InitData, need } from '../data.ts';
import { createControllerManager } from './create-controller-manager.ts';

export interface Restore {
  backup: FederationBackup;
  digest: string;
  path: string;
  /** An earlier run of this same restore was interrupted: the federation holds part of it. */
  resumed?: boolean;
}

/**
 * Before anything is written: a restore goes onto a fresh host namespace, or continues its own
 * interrupted run (the Service carries its backup's digest). Anything else there (another
 * federation, this one still running, etcd's claim left by a deinit without --purge-data) would
 * mix two states: refused, naming the way out.
 */
export async function checkRestoreTarget(host: RestClient, namespace: string, name: string, restore: Restore): Promise<void> {
  const ns = encodeURIComponent(namespace);
  const [service, secret, claim] = await Promise.all([
    host.find<V1Service>(`/api/v1/namespaces/${ns}/services/${APISERVER_NAME}`),
    host.find<V1Secret>(`/api/v1/namespaces/${ns}/secrets/${CREDENTIALS_SECRET}`),
    host.find<unknown>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${ETCD_CLAIM}`),
  ]);
  if (service?.metadata?.annotations?.[RESTORING_ANNOTATION] === restore.digest) {
    restore.resumed = true;
    return;
  }
  const deinit = `kubectl federation deinit ${name} --purge-data (after a backup of it), or restore into another namespace`;
  if (secret?.data && secret.data[CREDENTIAL_KEYS.caCert] !== restore.backup.credentials[CREDENTIAL_KEYS.caCert]) {
    throw new UserError(`namespace ${namespace} of the host holds another federation (another CA): a restore goes onto a fresh namespace; ${deinit}`);
  }
  if (service || secret || claim) {
    const what = [service && 'its Service', secret && 'its credentials', claim && "etcd's claim"].filter(Boolean).join(', ');
    throw new UserError(`namespace ${namespace} of the host already holds federation data (${what}): a restore goes onto a fresh namespace, not over a running federation; ${deinit}`);
  }
}

/** Runs fn over items, at most `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

interface Entry {
  r: BackedUpResource;
  obj: KubeObject;
}

const uidOf = (o: KubeObject) => (o.metadata as { uid?: string }).uid;
const ownersOf = (o: KubeObject) => ((o.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences ?? []).map((x) => x.uid);

class Restorer {
  /** Old UID -> the restored object's UID: owner references follow their owners. */
  readonly uids = new Map<string, string>();
  created = 0;
  existed = 0;
  private readonly client: RestClient;
  private readonly owners: Set<string>;
  constructor(client: RestClient, owners: Set<string>) {
    this.client = client;
    this.owners = owners;
  }

  async put({ r, obj }: Entry): Promise<void> {
    const body = forCreate(obj, this.uids);
    const ns = r.namespaced ? obj.metadata.namespace : undefined;
    let restored: KubeObject;
    try {
      // Every object has its name: a create sent again after a reset, which may have been made
      // the first time, meets 409 below and is taken as there. So resets are retried, as for
      // idempotent requests (an HA plane's fresh replicas reset a connection now and then).
      restored = await this.client.request<KubeObject>('POST', resourcePath(r, ns), { body, retry: true });
      this.created += 1;
    } catch (err) {
      // Unreachable is no bug: the step's runner says so, and that a re-run continues.
      if (err instanceof ConnectionError) throw err;
      if (!(err instanceof ApiError && err.status === 409)) throw new Error(`${r.kind} ${ns ? `${ns}/` : ''}${obj.metadata.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      // There already: made by the new plane (its namespaces, init's own API), or by this restore
      // before an interruption. A namespace takes back its labels and annotations.
      this.existed += 1;
      const path = resourcePath(r, ns, obj.metadata.name);
      if (r.plural === 'namespaces' && !r.group) {
        const { labels, annotations } = obj.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
        await this.client.request('PATCH', path, { body: { metadata: { labels: labels ?? {}, annotations: annotations ?? {} } }, contentType: 'application/merge-patch+json' });
      }
      const old = uidOf(obj);
      if (!old || !this.owners.has(old)) return;
      restored = await this.client.get<KubeObject>(path);
    }
    const old = uidOf(obj);
    const now = uidOf(restored);
    if (old && now) this.uids.set(old, now);
  }
}

async function waitEstablished(client: RestClient, crds: KubeObject[]): Promise<void> {
  await poll(
    async () => {
      for (const crd of crds) {
        const c = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(objectPath('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd.metadata.name));
        if (!c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) return notYet(`${crd.metadata.name} is not established yet`);
      }
      return done(true);
    },
    { what: "the backup's custom resource definitions to be established", timeoutMs: 60_000, intervalMs: 200 },
  );
}

/**
 * init --restore-from: every object of the backup, under the backed-up identity, so the members'
 * copies are this federation's again (nothing re-created there). Namespaces and custom resource
 * definitions first; owners before what they own, whose references get the owners' new UIDs.
 * Then the controller manager starts and the Service forgets the restore.
 */
export const restoreObjects: Step<InitData> = {
  name: 'restore-objects',
  title: (d) => `Restoring federation ${d.cfg.name} from ${d.restore?.path}`,
  skip: (d) => d.restore === undefined,
  run: async (d) => {
    const { backup } = need(d.restore, 'the restore');
    // Restored into another namespace, what lived in the old one (the members' credentials) moves
    // with it; the old namespace's own object is init's new one.
    const moved = (obj: KubeObject): KubeObject => (obj.metadata.namespace === backup.namespace ? { ...obj, metadata: { ...obj.metadata, namespace: d.cfg.namespace } } : obj);
    const entries = backup.resources
      .flatMap((r) => r.items.map((obj) => ({ r, obj: moved(obj) })))
      .filter((e) => !(e.r.plural === 'namespaces' && !e.r.group && e.obj.metadata.name === backup.namespace && backup.namespace !== d.cfg.namespace));
    const federation = need(d.federation, 'the federation');
    if (federation.dryRun) {
      for (const { obj } of entries) await federation.apply(forCreate(obj, new Map()));
      return `${entries.length} objects`;
    }
    const client = need(d.federationClient, 'the federation client');
    if (!d.restore?.resumed) {
      // An external etcd is not seen from the host: its data, if any, is seen here.
      const clusters = await client.get<{ items: unknown[] }>(collectionPath(FEDERATION_API_VERSION, 'Cluster'), { query: { limit: 1 } });
      if (clusters.items.length > 0) throw new UserError(`federation ${d.cfg.name} already has members (its etcd kept them): a restore goes onto a fresh federation; use a fresh etcd`);
    }
    // The identity first: the members' copies are labelled with it.
    await client.request('PATCH', '/api/v1/namespaces/kube-system', {
      body: { metadata: { annotations: { [FEDERATION_ID_ANNOTATION]: backup.federationId } } },
      contentType: 'application/merge-patch+json',
    });
    const owners = new Set(entries.flatMap((e) => ownersOf(e.obj)));
    const restorer = new Restorer(client, owners);
    const isNamespace = (e: Entry) => e.r.plural === 'namespaces' && !e.r.group;
    const isCRD = (e: Entry) => e.r.plural === 'customresourcedefinitions';
    await inParallel(entries.filter(isNamespace), 16, (e) => restorer.put(e));
    const crds = entries.filter(isCRD);
    await inParallel(crds, 16, (e) => restorer.put(e));
    await waitEstablished(client, crds.map((e) => e.obj));
    // Owners before what they own: in rounds, each taking what has every owner restored (or no
    // owner in the backup); a cycle, which the API would not have let form, ends in one last round.
    const backedUp = new Set(entries.map((e) => uidOf(e.obj)).filter(Boolean));
    // Admission configuration last: a user's webhook or policy must not judge the restore itself.
    const isAdmission = (e: Entry) => e.r.group === 'admissionregistration.k8s.io';
    let pending = entries.filter((e) => !isNamespace(e) && !isCRD(e) && !isAdmission(e));
    while (pending.length > 0) {
      const ready = pending.filter((e) => ownersOf(e.obj).every((u) => restorer.uids.has(u) || !backedUp.has(u)));
      const round = ready.length > 0 ? ready : pending;
      await inParallel(round, 16, (e) => restorer.put(e));
      pending = pending.filter((e) => !round.includes(e));
    }
    await inParallel(entries.filter(isAdmission), 16, (e) => restorer.put(e));
    // Every object is back under the old identity: the controller manager may start, and the
    // Service no longer says a restore is under way.
    const finished = { ...d, cfg: { ...d.cfg, restoring: undefined } } as InitData;
    await createControllerManager.run(finished);
    await d.host.apply(apiserverService(finished.cfg));
    d.changes += restorer.created;
    return `${restorer.created} objects restored${restorer.existed > 0 ? `, ${restorer.existed} there already` : ''}; identity ${backup.federationId}, as backed up at ${backup.takenAt}`;
  },
};
