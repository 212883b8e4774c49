// One probe of a member: /readyz (falling back to /healthz on servers that lack it), read as
// ready, not ready, unreachable or unauthorized.
import { ConnectionError, type RestClient } from '../shared/kube/rest.ts';
import type { Observation } from './status.ts';

function failedChecks(body: string): string {
  const failed = body
    .split('\n')
    .filter((l) => l.startsWith('[-]'))
    .map((l) => l.slice(3).trim());
  return failed.length > 0 ? failed.join('; ') : body.split('\n')[0]!.trim();
}

export async function probeMember(client: RestClient, timeoutMs: number): Promise<Observation> {
  try {
    let answer = await client.probe('/readyz', timeoutMs);
    if (answer.status === 404) answer = await client.probe('/healthz', timeoutMs);
    if (answer.status === 200) {
      return answer.body.trim() === 'ok'
        ? { kind: 'ready' }
        : { kind: 'notReady', message: `/readyz answered: ${answer.body.trim().slice(0, 200)}` };
    }
    if (answer.status === 401 || answer.status === 403) {
      return {
        kind: 'unauthorized',
        message: `the cluster refused the stored credentials (${answer.status === 401 ? '401 Unauthorized' : `403 Forbidden: ${answer.body.slice(0, 200)}`}); join it again to renew them`,
      };
    }
    return { kind: 'notReady', message: `/readyz answered ${answer.status}: ${failedChecks(answer.body).slice(0, 300)}` };
  } catch (err) {
    if (err instanceof ConnectionError) return { kind: 'unreachable', message: err.message };
    throw err;
  }
}
