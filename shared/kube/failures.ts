// One line for a request that failed against the cluster of a kubeconfig context, shared by every
// command: which cluster, which context, and what went wrong.
import { clause, UserError } from '../errors.ts';
import { ApiError, ConnectionError } from './rest.ts';

/** role: "host cluster", "federation API server", ...; hint: what to check, appended when given. */
export function describeFailure(err: unknown, role: string, ctx: string, hint?: string): Error {
  const tail = hint ? `; ${hint}` : '';
  if (err instanceof ConnectionError) return new UserError(`cannot reach the ${role} (context "${ctx}") at ${err.server}: ${err.reason}${tail}`);
  if (err instanceof ApiError && err.status === 401) {
    return new UserError(`the ${role} (context "${ctx}") did not accept the context's credentials: ${clause(err.message)}${tail}`);
  }
  if (err instanceof ApiError && err.status === 403) return new UserError(`the ${role} (context "${ctx}") refused: ${err.message}`);
  // Anything else the server answered (a 500, a 429 that outlasted the retries) is its to explain.
  if (err instanceof ApiError) return new UserError(`the ${role} (context "${ctx}") answered ${err.status}: ${clause(err.message)}${tail}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** For .catch(): rethrows a failed request as describeFailure words it. */
export const failedAt =
  (role: string, ctx: string) =>
  (err: unknown): never => {
    throw describeFailure(err, role, ctx);
  };
