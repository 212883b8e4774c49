import type { V1PersistentVolumeClaim, V1PodList } from '@kubernetes/client-node';
import { APISERVER_NAME, COMPONENT_LABEL, ETCD_CLAIM, FEDERATION_LABEL } from '../../constants.ts';
import { UserError } from '../../errors.ts';
import { collectionPath, objectPath } from '../../kube/resources.ts';
import { RestClient } from '../../kube/rest.ts';
import { LiveTarget } from '../../kube/target.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll, WaitTimeoutError } from '../../wait.ts';
import { type InitData, need } from '../data.ts';

/** Why the API server pod is not serving yet, as far as the host cluster can tell. */
async function diagnose(d: InitData): Promise<string | undefined> {
  const client = d.hostClient!;
  const { cfg } = d;
  const pods = await client.get<V1PodList>(collectionPath('v1', 'Pod', cfg.namespace), {
    query: { labelSelector: `${FEDERATION_LABEL}=${cfg.name},${COMPONENT_LABEL}=${APISERVER_NAME}` },
  });
  const pod = pods.items[0];
  if (!pod) return 'no API server pod exists yet';
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating') {
      return `container ${status.name} of pod ${pod.metadata?.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
    }
  }
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unschedulable) {
    if (cfg.etcd.persistentStorage && !cfg.etcd.servers) {
      const claim = await client.find<V1PersistentVolumeClaim>(objectPath('v1', 'PersistentVolumeClaim', ETCD_CLAIM, cfg.namespace));
      if (claim?.status?.phase === 'Pending') {
        return `claim ${ETCD_CLAIM} is not bound (no default storage class? try --etcd-pv-storage-class or --etcd-persistent-storage=false)`;
      }
    }
    return `pod ${pod.metadata?.name} is not scheduled: ${unschedulable.message ?? unschedulable.reason ?? ''}`;
  }
  return `pod ${pod.metadata?.name} is ${pod.status?.phase ?? 'pending'}`;
}

/** Waits until the new API server answers /readyz to the admin's new credentials. */
export const waitForAPIServer: Step<InitData> = {
  name: 'wait-for-apiserver',
  title: () => 'Waiting for federation control plane to come up',
  skip: (d) => d.hostClient === undefined,
  run: async (d) => {
    const endpoint = need(d.endpoint, 'the endpoint');
    const admin = need(d.admin, 'the admin certificate');
    const creds = need(d.credentials, 'the credentials');
    const client = new RestClient({ server: endpoint.url, ca: Buffer.from(creds.ca.cert), cert: Buffer.from(admin.cert), key: Buffer.from(admin.key) }, 5000);
    d.federationClient = client;
    d.federation = new LiveTarget(client);
    const what = `the federation API server at ${endpoint.url}`;
    let lastDiagnosis = 0;
    let diagnosis: string | undefined;
    const started = Date.now();
    try {
      await poll(
        async () => {
          if (Date.now() - lastDiagnosis > 5000) {
            lastDiagnosis = Date.now();
            diagnosis = await diagnose(d).catch(() => diagnosis);
          }
          const { status, body } = await client.probe('/readyz', 5000);
          return status === 200 ? done(true) : notYet(`/readyz answered ${status}: ${body.split('\n')[0]}`);
        },
        {
          what,
          timeoutMs: d.cfg.waitTimeoutMs,
          intervalMs: 1000,
          onWait: (ms, reason) => d.out.progress(what, ms, diagnosis ?? reason),
        },
      );
    } catch (err) {
      if (err instanceof WaitTimeoutError) {
        throw new UserError(`${err.message}${diagnosis ? `; ${diagnosis}` : ''}; run init again once that is fixed: it picks up where it stopped`);
      }
      throw err;
    } finally {
      d.waitedMs += Date.now() - started;
    }
    return undefined;
  },
};
