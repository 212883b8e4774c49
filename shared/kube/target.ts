// A cluster as the steps of a command see it: a place to apply objects and read them back. The
// live target talks to an API server; the recording target, used by --dry-run, only collects what
// would be applied, so a dry run walks exactly the same steps as the real one.
import { applyObject } from './apply.ts';
import { type KubeObject, objectPath } from './resources.ts';
import type { RestClient } from './rest.ts';

export interface Target {
  readonly dryRun: boolean;
  apply<T extends KubeObject>(obj: T): Promise<T>;
  read<T>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined>;
}

export class LiveTarget implements Target {
  readonly dryRun = false;
  readonly client: RestClient;
  constructor(client: RestClient) {
    this.client = client;
  }
  apply<T extends KubeObject>(obj: T): Promise<T> {
    return applyObject(this.client, obj);
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
