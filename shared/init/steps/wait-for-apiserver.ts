import type { CoreV1EventList, V1PersistentVolumeClaim, V1PodList } from '@kubernetes/client-node';
import { APISERVER_NAME, COMPONENT_LABEL, ETCD_CLAIM, ETCD_NAME, FEDERATION_LABEL } from '../../constants.ts';
import { etcdCluster } from '../../manifests/etcd.ts';
import { rolledOut } from '../../kube/rollout.ts';
import { clause, UserError } from '../../errors.ts';
import { collectionPath, objectPath } from '../../kube/resources.ts';
import { ApiError, ConnectionError, RestClient } from '../../kube/rest.ts';
import type { InitConfig } from '../../manifests/config.ts';
import { LiveTarget } from '../../kube/target.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll, WaitTimeoutError } from '../../wait.ts';
import { federationProxy, type InitData, need } from '../data.ts';

/** What the wait found: a status for the progress line, or a problem worth a line of its own. */
export interface Diagnosis {
  text: string;
  problem: boolean;
}

/** The fix to suggest for a refused pod, by what the refusal says. */
function refusalFix(message: string): string {
  if (/PodSecurity/.test(message)) return 'the namespace enforces a Pod Security level (or a policy) these pods do not meet: relabel it, or choose another --federation-system-namespace';
  if (/exceeded quota|must specify (requests|limits)/.test(message)) return "raise the namespace's ResourceQuota, or change the requests with --apiserver-resources, --etcd-resources, --controller-manager-resources";
  if (/serviceaccount/i.test(message)) return 'the ServiceAccount is missing: run init again';
  return 'fix that, then run init again';
}

const IMAGE_PROBLEMS = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);

/** The last non-empty line of a container's termination message (FallbackToLogsOnError: its log). */
const lastLine = (text: string | undefined) => text?.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);

/** Why the API server pod is not serving yet, as far as the host cluster can tell. */
export async function diagnose(client: RestClient, cfg: InitConfig): Promise<Diagnosis> {
  const pods = await client.get<V1PodList>(collectionPath('v1', 'Pod', cfg.namespace), {
    query: { labelSelector: `${FEDERATION_LABEL}=${cfg.name},${COMPONENT_LABEL}=${APISERVER_NAME}` },
  });
  const pod = pods.items[0];
  if (!pod) {
    // No pod: the ReplicaSet controller may be refused (Pod Security, quota, a webhook): its Event says why.
    const events = await client.get<CoreV1EventList>(collectionPath('v1', 'Event', cfg.namespace), {
      query: { fieldSelector: 'involvedObject.kind=ReplicaSet,reason=FailedCreate' },
    });
    const refused = events.items.filter((e) => e.involvedObject.name?.startsWith(`${APISERVER_NAME}-`)).at(-1);
    // The event recorder folds repeats into one Event whose message it prefixes: the refusal is the same.
    const message = refused?.message?.replace(/^\(combined from similar events\): /, '');
    if (message) {
      return { text: `the host cluster refuses to create the API server's pod: ${message}; ${refusalFix(message)}`, problem: true };
    }
    return { text: 'no API server pod exists yet', problem: false };
  }
  const name = pod.metadata?.name;
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason || waiting.reason === 'ContainerCreating' || waiting.reason === 'PodInitializing') continue;
    const where = `container ${status.name} of pod ${name}`;
    if (IMAGE_PROBLEMS.has(waiting.reason)) {
      return {
        text: `${where}: ${waiting.reason}: cannot pull ${status.image}${waiting.message ? ` (${waiting.message})` : ''}; check the image name, or mirror the images and pass --image-registry (with --image-pull-secrets if the mirror needs credentials)`,
        problem: true,
      };
    }
    if (waiting.reason === 'CrashLoopBackOff') {
      const last = status.lastState?.terminated;
      const line = lastLine(last?.message);
      return {
        text: `${where} keeps crashing${last ? ` (exit code ${last.exitCode})` : ''}${line ? `: ${line}` : ''}; see kubectl logs -n ${cfg.namespace} ${name} -c ${status.name} --previous, fix that, then run init again`,
        problem: true,
      };
    }
    return { text: `${where}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`, problem: waiting.reason.endsWith('Error') };
  }
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unschedulable) {
    if (cfg.etcd.persistentStorage && !cfg.etcd.servers) {
      const claim = await client.find<V1PersistentVolumeClaim>(objectPath('v1', 'PersistentVolumeClaim', ETCD_CLAIM, cfg.namespace));
      if (claim?.status?.phase === 'Pending') {
        return { text: `claim ${ETCD_CLAIM} is not bound (no default storage class? try --etcd-pv-storage-class or --etcd-persistent-storage=false)`, problem: false };
      }
    }
    return { text: `pod ${name} is not scheduled: ${unschedulable.message ?? unschedulable.reason ?? ''}`, problem: false };
  }
  return { text: `pod ${name} is ${pod.status?.phase ?? 'pending'}`, problem: false };
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
    const proxy = federationProxy(d, endpoint.url);
    const client = new RestClient({ server: endpoint.url, ca: Buffer.from(creds.ca.cert), cert: Buffer.from(admin.cert), key: Buffer.from(admin.key), ...(proxy ? { proxy } : {}) }, 5000);
    d.federationClient = client;
    d.federation = new LiveTarget(client);
    const what = `the federation API server at ${endpoint.url}`;
    let diagnosis: string | undefined;
    // Each problem once, as a line of its own, as soon as a poll finds it.
    const reported = new Set<string>();
    const started = Date.now();
    const sent = d.hostClient!.requests;
    // Until the federation's address answers /readyz: through the Service, as every client reaches it.
    const answers = () =>
      poll(
        async () => {
          // A failed look is no reason to stop waiting; a bug in looking is.
          const found = await diagnose(d.hostClient!, d.cfg).catch((err: unknown) => {
            if (err instanceof ApiError || err instanceof ConnectionError) return undefined;
            throw err;
          });
          if (found) {
            diagnosis = found.text;
            // The same refusal names a new pod each time the ReplicaSet tries: once is enough.
            const key = found.text.replace(/"[a-z0-9-]+-[a-z0-9]{5}"/g, '"..."');
            if (found.problem && !reported.has(key)) {
              reported.add(key);
              d.out.warn(found.text);
            }
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
    try {
      await answers();
      // The first answer is not the end of it: an upgrade's first answer may come from the pod
      // being replaced (a single replica is recreated once the Deployment controller gets to it),
      // and an HA plane rolls one replica at a time. Done when every replica runs what this init
      // deploys, and the address answers again (from the new pods, once the Service lists them).
      const onWait = (ms: number, reason: string) => d.out.progress('the rollout of the control plane', ms, reason);
      const opts = { timeoutMs: d.cfg.waitTimeoutMs, onWait };
      await Promise.all([
        etcdCluster(d.cfg) ? rolledOut(d.hostClient!, d.cfg.namespace, ETCD_NAME, 'statefulsets', opts) : undefined,
        rolledOut(d.hostClient!, d.cfg.namespace, APISERVER_NAME, 'deployments', opts),
      ]);
      await answers();
    } catch (err) {
      if (err instanceof WaitTimeoutError) {
        throw new UserError(`${clause(err.message)}${diagnosis ? `; ${clause(diagnosis)}` : ''}; run init again once that is fixed: it picks up where it stopped`);
      }
      throw err;
    } finally {
      d.waitedMs += Date.now() - started;
      d.waitRequests += d.hostClient!.requests - sent + client.requests;
    }
    return undefined;
  },
};
