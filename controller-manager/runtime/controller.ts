// The one sync engine every controller of the controller manager runs on: workers take keys from a
// WorkQueue and call the controller's reconcile(key); a failure re-queues the key with back-off, a
// success may ask to be called again later (periodic work such as health probes and resyncs).
// Watches only ever enqueue keys; reconcile reads the caches and writes the difference.
import { errorMessage } from '../../shared/errors.ts';
import { pause } from '../../shared/wait.ts';
import { WorkQueue } from './queue.ts';

export interface ReconcileResult {
  /** Call reconcile for this key again after this long (a resync, the next probe). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  /** For log lines: "health", "propagation". */
  readonly name: string;
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void>;
}

/** What the runtime hands each controller when it makes it: the one way to put a key on its queue. */
export type Enqueue = (key: string) => void;

export interface RunOptions {
  workers: number;
  log: (line: string) => void;
  /** Called after each reconcile, for metrics. */
  onDone?: (key: string, ms: number, failed: boolean) => void;
}

export class Controller<R extends Reconciler = Reconciler> {
  readonly queue: WorkQueue;
  readonly reconciler: R;
  /** When a reconcile last finished: /healthz reads it. */
  lastDone = 0;
  reconciles = 0;
  private readonly o: RunOptions;

  /**
   * make builds the reconciler with its enqueue function: every controller gets its queue the same
   * way, at construction, and keeps it private.
   */
  constructor(make: (enqueue: Enqueue) => R, o: RunOptions, queue = new WorkQueue()) {
    this.o = o;
    this.queue = queue;
    this.reconciler = make((key) => queue.add(key));
  }

  /** Runs o.workers workers until the signal aborts; keys in flight finish first. */
  async run(signal: AbortSignal): Promise<void> {
    const worker = async () => {
      for (let key = await this.queue.get(signal); key !== undefined; key = await this.queue.get(signal)) {
        const began = performance.now();
        let failed = false;
        try {
          const result = await this.reconciler.reconcile(key, signal);
          this.queue.forget(key);
          if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        } catch (err) {
          failed = true;
          if (!signal.aborted) {
            const delay = this.queue.addRateLimited(key);
            this.o.log(`${this.reconciler.name} ${key}: ${errorMessage(err)} (retry ${this.queue.retries(key)} in ${delay}ms)`);
          }
        } finally {
          this.queue.done(key);
          this.lastDone = Date.now();
          this.reconciles += 1;
          this.o.onDone?.(key, performance.now() - began, failed);
        }
      }
    };
    await Promise.all(Array.from({ length: this.o.workers }, worker));
  }
}

/**
 * What a controller needs before it can start (discovery, the federation's identity), tried until
 * it answers: the controller manager may start before the API server it talks to. Undefined once
 * the signal aborts.
 */
export async function retryUntilAnswered<T>(what: string, fn: () => Promise<T>, signal: AbortSignal, log: (line: string) => void): Promise<T | undefined> {
  let delay = 500;
  while (!signal.aborted) {
    try {
      return await fn();
    } catch (err) {
      log(`${what} failed, retrying in ${delay / 1000}s: ${errorMessage(err)}`);
      await pause(delay, signal);
      delay = Math.min(delay * 2, 10_000);
    }
  }
  return undefined;
}
