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
