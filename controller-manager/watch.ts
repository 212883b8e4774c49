// A list-then-watch cache of one collection (client-go's reflector, in small): it keeps `items`
// current, re-lists when the server says the watch is too old, and backs off on errors. It stops
// when its signal aborts, and no loop in it runs without a wait.
import { ApiError, type RestClient, type WatchEvent, watchStream } from '../shared/kube/rest.ts';
import { pause } from '../shared/wait.ts';

interface Named {
  metadata: { name: string; resourceVersion?: string; managedFields?: unknown };
}

/** Kept objects lose their managedFields: the controller never reads them, and they are large. */
function slim<T extends Named>(obj: T): T {
  delete obj.metadata.managedFields;
  return obj;
}

interface List<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

export class Reflector<T extends Named> {
  readonly items = new Map<string, T>();
  synced = false;
  private readonly client: RestClient;
  private readonly path: string;
  private readonly onChange: (type: WatchEvent<T>['type'], obj: T) => void;
  private readonly log: (line: string) => void;

  constructor(client: RestClient, path: string, onChange: (type: WatchEvent<T>['type'], obj: T) => void, log: (line: string) => void) {
    this.client = client;
    this.path = path;
    this.onChange = onChange;
    this.log = log;
  }

  async run(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    while (!signal.aborted) {
      try {
        const list = await this.client.get<List<T>>(this.path, { query: { limit: 5000 } });
        const seen = new Set<string>();
        for (const item of list.items) {
          seen.add(item.metadata.name);
          this.items.set(item.metadata.name, slim(item));
          this.onChange('MODIFIED', item);
        }
        for (const [name, item] of this.items) {
          if (!seen.has(name)) {
            this.items.delete(name);
            this.onChange('DELETED', item);
          }
        }
        this.synced = true;
        backoff = 500;
        let resourceVersion = list.metadata.resourceVersion;
        // Watch from the list's version; the server ends each watch within timeoutSeconds.
        for (;;) {
          let gone = false;
          await watchStream<T>(
            this.client,
            this.path,
            { resourceVersion, timeoutSeconds: 300, allowWatchBookmarks: true },
            (event) => {
              if (event.type === 'ERROR') {
                gone = true;
                return;
              }
              resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
              if (event.type === 'BOOKMARK') return;
              if (event.type === 'DELETED') this.items.delete(event.object.metadata.name);
              else this.items.set(event.object.metadata.name, slim(event.object));
              this.onChange(event.type, event.object);
            },
            signal,
          );
          if (gone || signal.aborted) break;
        }
      } catch (err) {
        if (signal.aborted) break;
        this.log(`watching ${this.path} failed, retrying in ${backoff / 1000}s: ${err instanceof ApiError || err instanceof Error ? err.message : String(err)}`);
        await pause(backoff, signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }
}
