// A keyed work queue in the manner of client-go's workqueue: a key waiting is held once however many
// events name it, a key being worked on is never handed to a second worker (an event meanwhile
// re-queues it for after), and a key whose work failed comes back after a per-key exponential
// back-off, so one broken object never slows the others. Keys that come back on a timer (resyncs,
// retries) wait in a second lane, served when no event's key waits: a resync of thousands of
// objects never delays the object a user just created.

export interface QueueOptions {
  /** First retry delay of a failing key; doubles per failure. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export class WorkQueue {
  private readonly ready = new Lane();
  /** Keys whose timer fired: served after `ready` is empty. */
  private readonly later = new Lane();
  /**
   * The keys waiting in `later` now. An event for one of them moves it to `ready` (its entry in
   * `later` is left behind and skipped), so a resync lane thousands of keys long never holds back
   * the object a user just changed.
   */
  private readonly waitingLater = new Set<string>();
  /** Keys waiting to be handed out (in `ready`, or to be re-added when their work ends). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private waiters: (() => void)[] = [];
  private shut = false;
  private readonly o: QueueOptions;

  constructor(o: QueueOptions = { baseDelayMs: 200, maxDelayMs: 60_000 }) {
    this.o = o;
  }

  get length(): number {
    return this.ready.length + this.waitingLater.size;
  }

  add(key: string): void {
    this.enqueue(key, this.ready);
  }

  private enqueue(key: string, lane: Lane): void {
    if (this.shut) return;
    if (this.dirty.has(key)) {
      // Waiting behind the resyncs, and now an event: it goes to the front lane.
      if (lane === this.ready && this.waitingLater.delete(key)) this.ready.push(key);
      return;
    }
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    lane.push(key);
    if (lane === this.later) this.waitingLater.add(key);
    this.waiters.shift()?.();
  }

  /** Adds key once ms have passed; an earlier pending add of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shut) return;
    if (ms <= 0) return this.add(key);
    const due = Date.now() + ms;
    const known = this.delayed.get(key);
    if (known && known.due <= due) return;
    if (known) clearTimeout(known.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.enqueue(key, this.later);
    }, ms);
    this.delayed.set(key, { due, timer });
  }

  /** Re-adds a key whose work failed, after its back-off: base * 2^(failures - 1), capped. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.o.baseDelayMs * 2 ** Math.min(n - 1, 30), this.o.maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** The key's work succeeded: its next failure starts the back-off afresh. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to work on, or undefined once the signal aborts or the queue shuts down. */
  async get(signal: AbortSignal): Promise<string | undefined> {
    while (this.length === 0) {
      if (signal.aborted || this.shut) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', gone);
          resolve();
        };
        // A worker that stops waiting takes its wake-up with it: left behind, it would swallow the
        // next add, and a later worker (a new leadership's) would sleep through the key.
        const gone = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        };
        this.waiters.push(wake);
        signal.addEventListener('abort', gone, { once: true });
      });
    }
    let key: string;
    if (this.ready.length > 0) key = this.ready.shift();
    else {
      // Entries of keys that moved to the front lane are skipped.
      do key = this.later.shift();
      while (!this.waitingLater.has(key));
      this.waitingLater.delete(key);
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  /** Work on key ended: if it was added meanwhile, it is queued again now. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.ready.push(key);
      this.waiters.shift()?.();
    }
  }

  shutDown(): void {
    this.shut = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** A FIFO of keys that does not copy on every shift. */
class Lane {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(key: string): void {
    this.items.push(key);
  }

  shift(): string {
    const key = this.items[this.head++]!;
    // Compact now and then, so a long-lived queue does not keep every key it ever held.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }
}
