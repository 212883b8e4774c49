// Drift modes: what the federation does when a member's copy differs from what it wants. Repair (the
// default) writes it back; Report only says so (which member, which fields); and fields listed as
// left to the member are set at creation, then taken from the member's copy as they are. Pure
// functions over the wanted copy and the member's.
import jsonpatch from 'fast-json-patch';
import { ANNOTATIONS } from './annotations.ts';
import type { FederatedObject } from './copy.ts';

export type DriftMode = 'Repair' | 'Report';

/** The object's mode, else its namespace's, else Repair; throws on a value that is neither. */
export function driftMode(objectAnnotations: Record<string, string>, namespaceAnnotations: Record<string, string>): DriftMode {
  const value = objectAnnotations[ANNOTATIONS.drift] ?? namespaceAnnotations[ANNOTATIONS.drift];
  if (value === undefined || value === 'Repair') return 'Repair';
  if (value === 'Report') return 'Report';
  throw new Error(`${ANNOTATIONS.drift}: "${value}" is neither Repair nor Report`);
}

/** The JSON pointers of the annotation leaving fields to the member ("/spec/replicas,/data/b"); throws on one that is not a pointer. */
export function memberOwnedPaths(annotations: Record<string, string>): string[] {
  const text = annotations[ANNOTATIONS.memberOwned];
  if (text === undefined) return [];
  const paths = text.split(',').map((p) => p.trim()).filter(Boolean);
  const bad = paths.find((p) => !/^(\/([^~]|~[01])*)+$/.test(p));
  if (bad !== undefined) throw new Error(`${ANNOTATIONS.memberOwned}: "${bad}" is not a JSON pointer; write e.g. "/spec/replicas,/data/color"`);
  return paths;
}

/**
 * The wanted copy with the member's own values at the paths left to it (when the member's copy
 * has them): the apply then keeps them, and they never count as drift. A path the member's copy
 * lacks keeps the federation's value (the field is set at creation).
 */
export function withMemberOwned(want: FederatedObject, existing: FederatedObject | undefined, paths: string[]): FederatedObject {
  if (!existing || paths.length === 0) return want;
  const out = structuredClone(want);
  for (const path of paths) {
    let value: unknown;
    try {
      value = jsonpatch.getValueByPointer(existing, path);
    } catch {
      continue;
    }
    if (value === undefined) continue;
    try {
      jsonpatch.applyOperation(out, { op: 'add', path, value: structuredClone(value) }, false, true);
    } catch {
      // The federation's object has no parent for it: the member's value stays the member's alone.
    }
  }
  return out;
}

/** The JSON pointers where the member's copy differs from what is wanted (at the wanted paths only), the first 10. */
export function driftedPaths(want: unknown, got: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 10) return out;
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) out.push(path || '/');
    else want.forEach((w, i) => driftedPaths(w, got[i], `${path}/${i}`, out));
    return out;
  }
  if (want !== null && typeof want === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) {
      out.push(path || '/');
      return out;
    }
    for (const [k, w] of Object.entries(want as Record<string, unknown>)) driftedPaths(w, (got as Record<string, unknown>)[k], `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
    return out;
  }
  if (want !== got) out.push(path || '/');
  return out;
}
