// One idempotent write for every kind: server-side apply. Creating what is missing and updating
// what differs in a single request is what makes every command safe to re-run: no AlreadyExists,
// no duplicates, and an unchanged object is left untouched (no new revision, no restart).
import { FIELD_MANAGER } from '../constants.ts';
import { type KubeObject, pathOf } from './resources.ts';
import type { RestClient } from './rest.ts';

export function applyObject<T extends KubeObject>(client: RestClient, obj: T): Promise<T> {
  return client.request<T>('PATCH', pathOf(obj), {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: true },
  });
}

/** Delete, dependents after in the background (kubectl's default cascade). */
export const DELETE_IN_BACKGROUND = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } as const;

export async function deleteObject(client: RestClient, obj: KubeObject): Promise<boolean> {
  try {
    await client.request('DELETE', pathOf(obj), { body: DELETE_IN_BACKGROUND });
    return true;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return false;
    throw err;
  }
}
