// A cluster as the steps of a command see it: a place to apply objects and read them back. The
// live target talks to an API server; the recording target, used by --dry-run, only collects what
// would be applied, so a dry run walks exactly the same steps as the real one.
import { FIELD_MANAGER } from '../constants.ts';
import { applyObject } from './apply.ts';
import { type KubeObject, objectPath } from './resources.ts';
import type { RestClient } from './rest.ts';

export interface Target {
  readonly dryRun: boolean;
  apply<T extends KubeObject>(obj: T): Promise<T>;
  read<T>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined>;
}

/**
 * Whether a server-side apply just changed the object: the API server stamps our manager's entry in
 * managedFields with the time of each write that changed something, and leaves it alone otherwise.
 * Compared with the server's own clock (its Date header, to the second), never this machine's.
 */
export function changedByApply(obj: KubeObject, serverTime: number): boolean {
  const entries = (obj.metadata.managedFields as { manager?: string; operation?: string; time?: string }[] | undefined) ?? [];
  const ours = entries.find((e) => e.manager === FIELD_MANAGER && e.operation === 'Apply');
  const at = Date.parse(ours?.time ?? '');
  return !ours || !at || !serverTime || at >= serverTime - 1500;
}

export class LiveTarget implements Target {
  readonly dryRun = false;
  readonly client: RestClient;
  /** Applies that changed something (a re-run that changes nothing says so). */
  changed = 0;
  constructor(client: RestClient) {
    this.client = client;
  }
  async apply<T extends KubeObject>(obj: T): Promise<T> {
    const applied = await applyObject(this.client, obj);
    if (changedByApply(applied, this.client.serverTime)) this.changed += 1;
    return applied;
  }
  read<T>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    return this.client.find<T>(objectPath(apiVersion, kind, name, namespace));
  }
}

export class RecordingTarget implements Target {
  readonly dryRun = true;
  readonly applied: KubeObject[] = [];
  apply<T extends KubeObject>(obj: T): Promise<T> {
    this.applied.push(obj);
    return Promise.resolve(obj);
  }
  read<T>(): Promise<T | undefined> {
    return Promise.resolve(undefined);
  }
}
