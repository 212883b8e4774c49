// Events on the federation's objects, so `kubectl describe` shows what went wrong where: one line
// each, naming the cluster and the fix. The same event is posted again at most every few minutes.
// Messages are built by the controllers from names and server answers, never from object data, so
// no Secret's content can reach an Event.
import { errorMessage, oneLine } from '../shared/errors.ts';
import type { RestClient } from '../shared/kube/rest.ts';
import { kubeTime } from '../shared/kube/time.ts';

export interface Involved {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

const REPEAT_MS = 5 * 60_000;

export class EventRecorder {
  private readonly client: RestClient;
  private readonly log: (line: string) => void;
  private readonly sent = new Map<string, number>();

  constructor(client: RestClient, log: (line: string) => void) {
    this.client = client;
    this.log = log;
  }

  /** Records (and logs) an event; never throws: events are best effort. */
  async record(obj: Involved, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const line = oneLine(message).slice(0, 1000);
    const key = `${obj.metadata.uid ?? ''}|${reason}|${line}`;
    const last = this.sent.get(key);
    if (last !== undefined && Date.now() - last < REPEAT_MS) return;
    this.sent.set(key, Date.now());
    if (this.sent.size > 10_000) for (const [k, t] of this.sent) if (Date.now() - t >= REPEAT_MS) this.sent.delete(k);
    const ns = obj.metadata.namespace ?? 'default';
    this.log(`${obj.kind} ${obj.metadata.namespace ? `${ns}/` : ''}${obj.metadata.name}: ${reason}: ${line}`);
    const now = kubeTime();
    try {
      await this.client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${obj.metadata.name}.`, namespace: ns },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
            ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
          },
          reason,
          message: line,
          type,
          source: { component: 'federation-controller-manager' },
          reportingComponent: 'kubectl-federation-controller-manager',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log(`recording event ${reason} failed: ${errorMessage(err)}`);
    }
  }
}
