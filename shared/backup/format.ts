// The backup file: the federation's objects as its API served them at one revision, and the
// credentials Secret from the host, in one gzipped JSON document. gzip's checksum tells a damaged
// or truncated file from a good one; the header tells a foreign file from ours.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../errors.ts';
import type { KubeObject } from '../kube/resources.ts';
import { CREDENTIAL_KEYS } from '../manifests/credentials.ts';

export const BACKUP_API_VERSION = 'backup.kubectl-federation.io/v1';
export const BACKUP_KIND = 'FederationBackup';

/** One resource's objects, with where they live in the API (a custom kind's path is not in any table). */
export interface BackedUpResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  items: KubeObject[];
}

export interface FederationBackup {
  apiVersion: typeof BACKUP_API_VERSION;
  kind: typeof BACKUP_KIND;
  federation: string;
  /** The federation's system namespace, in the host and in the federation (members' credentials). */
  namespace: string;
  /** The identity its members' copies carry (label propagated-by): a restore keeps it. */
  federationId: string;
  takenAt: string;
  /** The etcd revision every object was read at: the backup is the state at that moment. */
  resourceVersion: string;
  serverVersion: string;
  /** The host Secret of the federation's CA, keys and certificates (base64 values, as in the Secret). */
  credentials: Record<string, string>;
  resources: BackedUpResource[];
}

export function encodeBackup(backup: FederationBackup): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(backup)));
}

/** A short digest of a backup file's bytes: what an interrupted restore remembers it by. */
export const backupDigest = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

const notOurs = (path: string, why: string) => new InputError(`${path} is not a backup made by kubectl federation backup (${why}); pass the file backup wrote`);
const damaged = (path: string, why: string) => new InputError(`${path} is damaged or truncated (${why}): nothing was restored; use another copy of the backup`);

/** The backup in bytes, checked whole before anything is done with it. */
export function decodeBackup(bytes: Buffer, path: string): FederationBackup {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw notOurs(path, bytes.length === 0 ? 'it is empty' : 'it is not gzip data');
  let text: string;
  try {
    text = gunzipSync(bytes).toString();
  } catch (err) {
    throw damaged(path, (err as Error).message);
  }
  let doc: Partial<FederationBackup>;
  try {
    doc = JSON.parse(text) as Partial<FederationBackup>;
  } catch (err) {
    throw notOurs(path, `its content is not JSON: ${(err as Error).message}`);
  }
  if (doc?.apiVersion !== BACKUP_API_VERSION || doc.kind !== BACKUP_KIND) {
    throw notOurs(path, `it is ${doc?.kind ? `a ${String(doc.kind)}` : 'no FederationBackup'}${doc?.apiVersion ? ` of ${String(doc.apiVersion)}` : ''}`);
  }
  const missing = (['federation', 'namespace', 'federationId', 'resourceVersion', 'credentials', 'resources'] as const).filter((k) => doc[k] === undefined);
  if (missing.length > 0) throw damaged(path, `it has no ${missing.join(', ')}`);
  for (const key of [CREDENTIAL_KEYS.caCert, CREDENTIAL_KEYS.caKey, CREDENTIAL_KEYS.serviceAccountKey, CREDENTIAL_KEYS.serviceAccountPub]) {
    if (!doc.credentials![key]) throw damaged(path, `its credentials have no ${key}`);
  }
  if (!Array.isArray(doc.resources) || doc.resources.some((r) => !r?.plural || !r.version || !Array.isArray(r.items))) throw damaged(path, 'a resource without its objects');
  return doc as FederationBackup;
}

/** Reads and checks a backup file; a file that cannot be read is named with the reason. */
export function readBackup(path: string): { backup: FederationBackup; digest: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read backup ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  return { backup: decodeBackup(bytes, path), digest: backupDigest(bytes) };
}
