// `kubectl federation backup`: the whole flow in one place. A copy through the federation's API at
// one etcd revision (every list read at that revision, so the copy is the state of one moment), and
// the credentials Secret from the host. Through the API rather than an etcd snapshot: it needs no
// exec into the etcd container, no etcd credentials, and works as well with an external etcd; the
// file is plain objects, restorable onto a newer API server (init --restore-from).
import { CREDENTIALS_SECRET } from '../constants.ts';
import { UserError } from '../errors.ts';
import { findFederationContext } from '../federation-context.ts';
import { type Kubeconfig, writePrivateFile } from '../kubeconfig.ts';
import { type ApiResource, discoverResources, resourcePath } from '../kube/discovery.ts';
import { describeFailure } from '../kube/failures.ts';
import type { KubeObject } from '../kube/resources.ts';
import { ApiError, type RestClient } from '../kube/rest.ts';
import { clientFor } from '../join/contexts.ts';
import { readFederationId } from '../member-credentials.ts';
import type { Output } from '../output.ts';
import { runSteps, type Step, StepError } from '../steps.ts';
import { BACKUP_API_VERSION, BACKUP_KIND, type BackedUpResource, encodeBackup, type FederationBackup } from './format.ts';
import { backedUpResources, forBackup, isBackedUp } from './selection.ts';

export interface BackupRequest {
  kubeconfig: Kubeconfig;
  /** The federation's name or context (default: the current context). */
  name?: string;
  /** Where to write; default: NAME-backup-TIMESTAMP.json.gz in the working directory. */
  file?: string;
  requestTimeoutMs: number;
  out: Output;
}

interface BackupData {
  req: BackupRequest;
  federation: RestClient;
  host: RestClient;
  name: string;
  namespace: string;
  hostContext: string;
  federationContext: string;
  credentials?: Record<string, string>;
  resourceVersion?: string;
  federationId?: string;
  resources?: ApiResource[];
  copied?: BackedUpResource[];
  file?: string;
}

interface List {
  metadata?: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

/** A list's pages, each read at revision rv (continue tokens keep it). */
async function listAt(client: RestClient, r: ApiResource, rv: string): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let token: string | undefined;
  // Bounded: a page is 500 objects, and a federation of 5 million objects is not one to copy this way.
  for (let page = 0; page < 10_000; page++) {
    const query: Record<string, string | number> = token ? { limit: 500, continue: token } : { limit: 500, resourceVersion: rv, resourceVersionMatch: 'Exact' };
    const list = await client.get<List>(resourcePath(r), { query });
    const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    // A list's items carry no apiVersion and kind of their own.
    items.push(...list.items.map((o) => ({ ...o, apiVersion, kind: r.kind })));
    token = list.metadata?.continue || undefined;
    if (!token) return items;
  }
  throw new Error(`${r.plural}: more than 5,000,000 objects`);
}

const readCredentials: Step<BackupData> = {
  name: 'read-credentials',
  title: (d) => `Reading the credentials of federation ${d.name} from the host cluster`,
  run: async (d) => {
    const secret = await d.host.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${encodeURIComponent(d.namespace)}/secrets/${CREDENTIALS_SECRET}`).catch((err: unknown) => {
      throw describeFailure(err, 'host cluster', d.hostContext);
    });
    if (!secret?.data) throw new UserError(`the host cluster (context "${d.hostContext}") has no Secret ${d.namespace}/${CREDENTIALS_SECRET}: is federation ${d.name} still there? kubectl federation status ${d.name}`);
    d.credentials = secret.data;
  },
};

const copyObjects: Step<BackupData> = {
  name: 'copy-objects',
  title: (d) => `Copying the objects of federation ${d.name} at one revision`,
  run: async (d) => {
    d.federationId = await readFederationId(d.federation);
    d.resources = backedUpResources(await discoverResources(d.federation, d.req.requestTimeoutMs));
    // Read at one revision; one compacted away meanwhile (410) is taken again from a newer one.
    for (let attempt = 1; ; attempt++) {
      const rv = (await d.federation.get<List>('/api/v1/namespaces', { query: { limit: 1 } })).metadata?.resourceVersion;
      if (!rv) throw new Error('the federation API server gave no resourceVersion');
      try {
        const lists = await Promise.all(d.resources.map(async (r) => ({ r, items: await listAt(d.federation, r, rv) })));
        d.copied = lists
          .map(({ r, items }) => ({ group: r.group, version: r.version, kind: r.kind, plural: r.plural, namespaced: r.namespaced, items: items.filter((o) => isBackedUp(r, o)).map((o) => forBackup(r, o)) }))
          .filter((c) => c.items.length > 0);
        d.resourceVersion = rv;
        const count = d.copied.reduce((n, c) => n + c.items.length, 0);
        return `${count} objects of ${d.copied.length} kinds, at resourceVersion ${rv}`;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 410) || attempt >= 3) throw err;
      }
    }
  },
};

const writeFile: Step<BackupData> = {
  name: 'write-file',
  title: (d) => `Writing ${d.file}`,
  run: async (d) => {
    const version = await d.federation.get<{ gitVersion?: string }>('/version');
    const backup: FederationBackup = {
      apiVersion: BACKUP_API_VERSION,
      kind: BACKUP_KIND,
      federation: d.name,
      namespace: d.namespace,
      federationId: d.federationId!,
      takenAt: new Date().toISOString(),
      resourceVersion: d.resourceVersion!,
      serverVersion: version.gitVersion ?? '',
      credentials: d.credentials!,
      resources: d.copied!,
    };
    const bytes = encodeBackup(backup);
    writePrivateFile(d.file!, bytes);
    return `${(bytes.length / 1024).toFixed(0)} KiB, mode 0600`;
  },
};

export const backupSteps: Step<BackupData>[] = [
  readCredentials, // the CA, keys and certificates: the federation's identity to its clients
  copyObjects, // every object of the federation, at one revision
  writeFile, // one file, 0600, written whole or not at all
];

export interface BackupResult {
  federation: string;
  file: string;
  objects: number;
  clusters: number;
  resourceVersion: string;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export async function runBackup(req: BackupRequest): Promise<BackupResult> {
  const { context, ext } = findFederationContext(req.kubeconfig, req.name);
  if (req.file === '-') throw new UserError('the backup holds private keys and tokens: it is written to a file (-f FILE), never to standard output');
  const host = await clientFor(req.kubeconfig.resolve(ext.hostContext, '--host-cluster-context'), req.requestTimeoutMs);
  const federation = await clientFor(req.kubeconfig.resolve(context), req.requestTimeoutMs);
  const d: BackupData = {
    req,
    host,
    federation,
    name: ext.federation,
    namespace: ext.namespace,
    hostContext: ext.hostContext,
    federationContext: context,
    file: req.file ?? `${ext.federation}-backup-${stamp(new Date())}.json.gz`,
  };
  try {
    await federation.get('/version').catch((err: unknown) => {
      throw describeFailure(err, 'federation API server', context);
    });
    await runSteps(backupSteps, d, req.out);
  } catch (err) {
    if (err instanceof StepError && !(err.cause instanceof UserError)) {
      throw new UserError(`step ${err.step}: ${err.message}; nothing was written: run backup again`);
    }
    throw err instanceof StepError ? err.cause : err;
  } finally {
    host.close();
    federation.close();
  }
  const clusters = d.copied!.find((c) => c.plural === 'clusters' && c.group.startsWith('core.federation'))?.items.length ?? 0;
  return { federation: d.name, file: d.file!, objects: d.copied!.reduce((n, c) => n + c.items.length, 0), clusters, resourceVersion: d.resourceVersion! };
}
