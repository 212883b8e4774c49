// A list-then-watch cache of one collection (client-go's reflector, in small): it keeps `items`
// current, keyed "namespace/name" (or "name" for cluster-scoped objects), lists page by page,
// re-lists when the server says the watch is too old, and backs off on errors. It stops when its
// signal aborts, and no loop in it runs without a wait.
import { ApiError, type RestClient, type WatchEvent, watchStream } from '../../shared/kube/rest.ts';
import { pause } from '../../shared/wait.ts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  managedFields?: unknown;
}

interface Named {
  metadata: ObjectMeta;
}

/** The cache key of an object: what the work queues hold too. */
export function objectKey(meta: { name: string; namespace?: string }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

interface List<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

const METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface ReflectorOptions<T> {
  labelSelector?: string;
  /** Objects per list page. */
  pageSize?: number;
  /** Lists and watches PartialObjectMetadata: names, labels and the like, never a spec or data. */
  metadataOnly?: boolean;
  /**
   * Called on each object before it is kept. The default drops managedFields: controllers rarely
   * read them, and they are most of an object's size.
   */
  transform?: (obj: T) => T;
  log: (line: string) => void;
}

function slim<T extends Named>(obj: T): T {
  delete obj.metadata.managedFields;
  return obj;
}

export class Reflector<T extends Named> {
  readonly items = new Map<string, T>();
  synced = false;
  /** Why the last list or watch failed, until one succeeds again: callers say why they wait. */
  lastError: unknown;
  private readonly client: RestClient;
  private readonly path: string;
  private readonly onChange: (type: ChangeType, obj: T, old: T | undefined) => void;
  private readonly o: ReflectorOptions<T>;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(client: RestClient, path: string, onChange: (type: ChangeType, obj: T, old: T | undefined) => void, o: ReflectorOptions<T>) {
    this.client = client;
    this.path = path;
    this.onChange = onChange;
    this.o = o;
  }

  /** Resolves once the first list is in (or the signal aborts). */
  waitForSync(signal: AbortSignal): Promise<void> {
    if (this.synced || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private keep(obj: T): T {
    return this.o.transform ? this.o.transform(obj) : slim(obj);
  }

  private upsert(obj: T): void {
    const key = objectKey(obj.metadata);
    const old = this.items.get(key);
    const kept = this.keep(obj);
    this.items.set(key, kept);
    this.onChange(old ? 'MODIFIED' : 'ADDED', kept, old);
  }

  /** Every page of the collection; a continue token that expired (410) restarts the list. */
  private async listAll(): Promise<List<T>> {
    for (let attempt = 0; ; attempt++) {
      const items: T[] = [];
      let resourceVersion: string;
      let token: string | undefined;
      try {
        do {
          const page = await this.client.get<List<T>>(this.path, {
            query: { limit: this.o.pageSize ?? 500, continue: token, labelSelector: this.o.labelSelector },
            ...(this.o.metadataOnly ? { accept: `${METADATA}List,application/json` } : {}),
          });
          items.push(...page.items);
          resourceVersion = page.metadata.resourceVersion;
          token = page.metadata.continue || undefined;
        } while (token);
        return { metadata: { resourceVersion }, items };
      } catch (err) {
        if (err instanceof ApiError && err.status === 410 && attempt < 3) continue;
        throw err;
      }
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    while (!signal.aborted) {
      try {
        const list = await this.listAll();
        this.lastError = undefined;
        const seen = new Set<string>();
        for (const item of list.items) {
          seen.add(objectKey(item.metadata));
          this.upsert(item);
        }
        for (const [key, item] of this.items) {
          if (!seen.has(key)) {
            this.items.delete(key);
            this.onChange('DELETED', item, item);
          }
        }
        if (!this.synced) {
          this.synced = true;
          for (const wake of this.syncWaiters.splice(0)) wake();
        }
        backoff = 500;
        let resourceVersion = list.metadata.resourceVersion;
        // Watch from the list's version; the server ends each watch within timeoutSeconds.
        for (;;) {
          let gone = false;
          await watchStream<T>(
            this.client,
            this.path,
            {
              resourceVersion,
              timeoutSeconds: 300,
              allowWatchBookmarks: true,
              ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}),
            },
            (event: WatchEvent<T>) => {
              if (event.type === 'ERROR') {
                gone = true;
                return;
              }
              resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
              if (event.type === 'BOOKMARK') return;
              if (event.type === 'DELETED') {
                const key = objectKey(event.object.metadata);
                const old = this.items.get(key);
                this.items.delete(key);
                this.onChange('DELETED', this.keep(event.object), old);
              } else this.upsert(event.object);
            },
            signal,
            this.o.metadataOnly ? `${METADATA},application/json` : undefined,
          );
          if (gone || signal.aborted) break;
        }
      } catch (err) {
        if (signal.aborted) break;
        this.lastError = err;
        this.o.log(`watching ${this.path} failed, retrying in ${backoff / 1000}s: ${err instanceof Error ? err.message : String(err)}`);
        await pause(backoff, signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }
}
