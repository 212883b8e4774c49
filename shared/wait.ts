// Bounded polling: every wait in this project has a deadline and says what it waited for.
import { formatDuration } from './duration.ts';

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

export interface PollOptions {
  /** What is awaited, for the timeout message: "the Service federation-system/apiserver to get an address". */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Called after each unsuccessful check with the time spent so far and the reason it gave. */
  onWait?: (elapsedMs: number, reason: string) => void;
  signal?: AbortSignal;
}

/** A check's answer: done with a value, or not yet with a reason worth reporting. */
export type CheckResult<T> = { done: true; value: T } | { done: false; reason: string };

export const done = <T>(value: T): CheckResult<T> => ({ done: true, value });
export const notYet = (reason: string): CheckResult<never> => ({ done: false, reason });

/**
 * Calls check until it reports done or the deadline passes. A check that throws counts as "not yet"
 * with the error as reason; the last reason ends up in the timeout message.
 */
export async function poll<T>(check: () => Promise<CheckResult<T>>, options: PollOptions): Promise<T> {
  const started = Date.now();
  const interval = options.intervalMs ?? 500;
  let reason: string;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const result = await check();
      if (result.done) return result.value;
      reason = result.reason;
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    const elapsed = Date.now() - started;
    if (elapsed >= options.timeoutMs) {
      throw new WaitTimeoutError(
        `timed out after ${formatDuration(options.timeoutMs)} waiting for ${options.what} (last: ${reason})`,
      );
    }
    options.onWait?.(elapsed, reason);
    await pause(Math.min(interval, options.timeoutMs - elapsed), options.signal ?? new AbortController().signal);
  }
}

/** Waits ms, or less if signal aborts first (then it resolves: loops check the signal themselves). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
