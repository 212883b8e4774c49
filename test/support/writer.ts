// A client that writes to a federation without pause, as a controller or a CI job would, retrying
// each write as kubectl's client does (a refused connection, a reset, a 429 or 5xx, a timeout): what
// the losing-a-replica tests run while they break things. It records every write the server
// acknowledged and the longest time between two acknowledgements, and stops by itself.
import { ApiError, ConnectionError, RestClient } from '../../shared/kube/rest.ts';
import type { Credentials } from '../../shared/kube/credentials.ts';

export interface WriterResult {
  /** Names of the ConfigMaps the server acknowledged (created, or found created by an earlier try). */
  acknowledged: string[];
  /** The longest time between two acknowledged writes, in milliseconds. */
  longestGapMs: number;
  /** Tries that failed and were retried. */
  retries: number;
}

const retriable = (err: unknown) => err instanceof ConnectionError || (err instanceof ApiError && (err.status === 429 || err.status >= 500));

export class ContinuousWriter {
  private readonly client: RestClient;
  private readonly namespace: string;
  private readonly prefix: string;
  private stopped = false;
  private loop?: Promise<WriterResult>;

  constructor(creds: Credentials, namespace: string, prefix: string) {
    this.client = new RestClient(creds, 5000);
    this.namespace = namespace;
    this.prefix = prefix;
  }

  /** Writes until stop() or until maxMs have passed. */
  start(maxMs: number): void {
    this.loop = this.run(Date.now() + maxMs);
  }

  async stop(): Promise<WriterResult> {
    this.stopped = true;
    const result = await this.loop!;
    this.client.close();
    return result;
  }

  private async run(deadline: number): Promise<WriterResult> {
    const acknowledged: string[] = [];
    let retries = 0;
    let last = Date.now();
    let longestGapMs = 0;
    for (let i = 0; !this.stopped && Date.now() < deadline; i++) {
      const name = `${this.prefix}-${i}`;
      // One write, retried with a growing pause until acknowledged (or the writer is out of time).
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        try {
          await this.client.request('POST', `/api/v1/namespaces/${this.namespace}/configmaps`, {
            body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { i: String(i) } },
          });
        } catch (err) {
          // A create that was applied but whose answer was lost: the retry finds it there.
          if (!(err instanceof ApiError && err.status === 409)) {
            if (!retriable(err)) throw err;
            retries += 1;
            await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
            continue;
          }
        }
        acknowledged.push(name);
        const now = Date.now();
        longestGapMs = Math.max(longestGapMs, now - last);
        last = now;
        break;
      }
    }
    return { acknowledged, longestGapMs, retries };
  }
}
