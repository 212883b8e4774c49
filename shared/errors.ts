// Errors a user sees. Every failure the user can fix ends as one line saying what is wrong and
// how to fix it; only bugs show a stack trace (and only with --v or DEBUG set).

/** Something the user can fix: the message is the whole story, printed as one line. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Bad command-line input: printed like a UserError, with a distinct exit code. */
export class InputError extends UserError {
  override name = 'InputError';
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Collapses a message to one line: servers' messages sometimes span several. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, '; ').trim();
}

/** A message as a clause of a longer line: no full stop before our "; what to do" ("later.; run"). */
export function clause(message: string): string {
  return oneLine(message).replace(/\.;/g, ';').replace(/[.\s]+$/, '');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs checks at once; when several fail, the failure said is the first in the given order (the
 * order a user would check them in), not the first to arrive.
 */
export async function allInOrder<T extends readonly unknown[]>(checks: readonly [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
  const settled = await Promise.allSettled(checks as readonly Promise<unknown>[]);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
