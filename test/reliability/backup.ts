// Backup and restore, killed at random moments. A backup under a steady writer is the state of one
// moment (what the writer did is a prefix of its work, across two kinds); a killed backup leaves
// the old file or none, never half of one; a killed restore, run again, brings back every object
// under the backed-up identity, the owners' references pointing at the restored owners.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBackup, type FederationBackup, readBackup } from '../../shared/backup/format.ts';
import { RESTORING_ANNOTATION } from '../../shared/manifests/config.ts';
import { FEDERATION_ID_ANNOTATION } from '../../shared/member-credentials.ts';
import { kubectlJSON } from '../support/kubectl.ts';
import { kubectlBin } from '../support/paths.ts';
import { cli, killAtRandom, type Options, type Row, standInFederation, tally } from './harness.ts';

const APP = 'app';

/** Objects of several kinds, an owner and what it owns, a custom kind and one of its objects, a Cluster. */
function objects(namespace: string): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP, labels: { team: 'a' }, annotations: { note: 'kept' } } },
    ...Array.from({ length: 10 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: APP }, data: { i: String(i) } })),
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: APP }, stringData: { password: 'p' } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: APP },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
    },
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'member-x', namespace }, stringData: { token: 'not-a-real-token' } },
    { apiVersion: 'core.federation.kubectl-federation.io/v1beta1', kind: 'Cluster', metadata: { name: 'member-x', labels: { env: 'prod' } }, spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: 'https://192.0.2.1:6443' }], secretRef: { name: 'member-x' } } },
  ];
}

/** kubectl with a JSON body on stdin (kubectl apply -f -). */
function kubectlIn(env: NodeJS.ProcessEnv, input: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(kubectlBin, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
    child.stdin.end(input);
  });
}

/** Every object of the backup, as kind/namespace/name; restored into namespace `into`, its own namespace's objects are there. */
const keysOf = (b: FederationBackup, into = b.namespace) =>
  b.resources
    .flatMap((r) => r.items.map((o) => `${r.kind}/${o.metadata.namespace === b.namespace ? into : (o.metadata.namespace ?? '')}/${o.metadata.name}`))
    .filter((key) => key !== `Namespace//${b.namespace}` || into === b.namespace)
    .sort();

/** What is wrong with a restored federation, against its backup; empty when nothing. */
async function restoredProblems(env: NodeJS.ProcessEnv, context: string, host: string, namespace: string, backup: FederationBackup): Promise<string[]> {
  const problems: string[] = [];
  const k = (...args: string[]) => kubectlJSON<{ items?: { kind?: string; metadata: { name: string; namespace?: string; uid?: string; ownerReferences?: { uid: string }[]; annotations?: Record<string, string> } }[] } & { metadata?: { annotations?: Record<string, string> }; spec?: { replicas?: number } }>(env, `--context=${context}`, ...args);
  const kubeSystem = await k('get', 'namespace', 'kube-system');
  if (kubeSystem.metadata?.annotations?.[FEDERATION_ID_ANNOTATION] !== backup.federationId) problems.push('the identity is not the backup\'s');
  const present = new Set<string>();
  for (const r of backup.resources) {
    const resource = r.group ? `${r.plural}.${r.group}` : r.plural;
    const list = await k('get', resource, ...(r.namespaced ? ['-A'] : []));
    for (const o of list.items ?? []) present.add(`${r.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  }
  const missing = keysOf(backup, namespace).filter((key) => !present.has(key));
  if (missing.length > 0) problems.push(`missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  const app = await k('get', 'namespace', APP);
  if (app.metadata?.annotations?.note !== 'kept') problems.push('the namespace lost its annotation');
  const deployment = await k('-n', APP, 'get', 'deployment', 'web');
  const uid = (deployment as { metadata?: { uid?: string } }).metadata?.uid;
  const owned = await k('-n', APP, 'get', 'replicasets');
  for (const rs of owned.items ?? []) {
    if (rs.metadata.ownerReferences?.some((o) => o.uid !== uid)) problems.push(`ReplicaSet ${rs.metadata.name} is owned by another UID than the restored Deployment's`);
  }
  const service = await kubectlJSON<{ metadata?: { annotations?: Record<string, string> } }>(env, `--context=${host}`, '-n', namespace, 'get', 'service', 'apiserver');
  if (service.metadata?.annotations?.[RESTORING_ANNOTATION]) problems.push('the Service still says a restore is under way');
  const cm = await kubectlJSON<{ spec?: { replicas?: number } }>(env, `--context=${host}`, '-n', namespace, 'get', 'deployment', 'controller-manager');
  if (cm.spec?.replicas !== 1) problems.push(`the controller manager has ${cm.spec?.replicas} replicas`);
  return problems;
}

export async function backupReliability(o: Options): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'reliability-backup-'));
  const source = standInFederation(o);
  try {
    const made = await cli(source.args);
    if (made.code !== 0) throw new Error(`init of the source federation failed: ${made.stderr}`);
    const env = { ...process.env, KUBECONFIG: source.kubeconfig };
    const put = async (obj: object) => {
      const r = await kubectlIn(env, JSON.stringify(obj), `--context=${source.name}`, 'apply', '--server-side', '-f', '-');
      if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
    };
    for (const obj of objects(source.namespace)) await put(obj);
    // A ReplicaSet the Deployment owns, as rollout history keeps them: its owner's UID must follow.
    const web = await kubectlJSON<{ metadata: { uid: string } }>(env, `--context=${source.name}`, '-n', APP, 'get', 'deployment', 'web');
    await put({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-1', namespace: APP, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: web.metadata.uid, controller: true }] },
      spec: { replicas: 0, selector: { matchLabels: { app: 'web', h: '1' } }, template: { metadata: { labels: { app: 'web', h: '1' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
    });
    await put({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: APP }, size: 3 });

    // 1. A backup under a writer: ConfigMap seq-i, then Secret counter = i, one after another.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing && written < 2000) {
        written += 1;
        await put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `seq-${written}`, namespace: APP }, data: {} });
        await put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'counter', namespace: APP }, stringData: { n: String(written) } });
      }
    })();
    const file = join(dir, 'fed.json.gz');
    const consistency: Row = { what: 'backup under a steady writer: the state of one moment', cases: 0, survived: 0, failures: [] };
    for (let i = 0; i < Math.max(3, Math.floor(o.kills / 4)); i++) {
      const r = await cli(['backup', source.name, '-f', file, '--kubeconfig', source.kubeconfig]);
      const problems: string[] = [];
      if (r.code !== 0) problems.push(`backup exit ${r.code}: ${r.stderr.trim()}`);
      else {
        const { backup } = readBackup(file);
        const seq = backup.resources.find((x) => x.plural === 'configmaps')!.items.map((c) => c.metadata.name).filter((n) => n.startsWith('seq-')).map((n) => Number(n.slice(4))).sort((a, b) => a - b);
        const counterSecret = backup.resources.find((x) => x.plural === 'secrets')!.items.find((s) => s.metadata.name === 'counter') as { data?: Record<string, string> } | undefined;
        const counter = counterSecret?.data?.n ? Number(Buffer.from(counterSecret.data.n, 'base64').toString()) : 0;
        const m = seq.length;
        if (seq.some((v, j) => v !== j + 1)) problems.push(`the writer's ConfigMaps are not a prefix: ${seq.slice(0, 10).join(',')}...`);
        // The counter follows its ConfigMap: at one moment it is the last one's number, or one behind.
        if (counter !== m && counter !== m - 1) problems.push(`${m} ConfigMaps but the counter says ${counter}: two moments`);
      }
      tally(consistency, `backup ${i + 1} (${written} writes so far)`, problems);
    }
    writing = false;
    await writer;

    // 2. backup killed at random: the file is the old one or a whole new one, and a re-run writes it.
    const started = Date.now();
    const ref = await cli(['backup', source.name, '-f', file, '--kubeconfig', source.kubeconfig]);
    if (ref.code !== 0) throw new Error(`backup failed: ${ref.stderr}`);
    const backupMs = Date.now() - started;
    const { backup } = readBackup(file);
    const killedBackup: Row = { what: `backup killed at random (0-${backupMs} ms), run again`, cases: 0, survived: 0, failures: [] };
    for (let i = 0; i < o.kills; i++) {
      const target = join(dir, `killed-${i}.json.gz`);
      const at = await killAtRandom(['backup', source.name, '-f', target, '--kubeconfig', source.kubeconfig], backupMs);
      const problems: string[] = [];
      if (existsSync(target)) {
        try {
          decodeBackup(readFileSync(target), target);
        } catch (err) {
          problems.push(`a killed backup left a bad file: ${(err as Error).message}`);
        }
      }
      const stray = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
      if (stray.length > 0) problems.push(`left: ${stray.join(', ')}`);
      const again = await cli(['backup', source.name, '-f', target, '--kubeconfig', source.kubeconfig]);
      if (again.code !== 0) problems.push(`re-run exit ${again.code}: ${again.stderr.trim()}`);
      else if (keysOf(readBackup(target).backup).join() !== keysOf(backup).join()) problems.push('the re-run backup holds other objects');
      tally(killedBackup, `killed at ${at} ms`, problems);
      rmSync(target, { force: true });
    }

    // 3. restore killed at random, onto fresh namespaces (each its own stand-in plane), run again.
    const reference = standInFederation(o, ['--restore-from', file]);
    const t = Date.now();
    const first = await cli([...reference.args.slice(0, 1), source.name, ...reference.args.slice(2)]);
    const restoreMs = Date.now() - t;
    await reference.stop();
    if (first.code !== 0) throw new Error(`the uninterrupted restore failed: ${first.stderr}`);
    const killedRestore: Row = { what: `init --restore-from killed at random (0-${restoreMs} ms), run again`, cases: 0, survived: 0, failures: [] };
    for (let i = 0; i < o.kills; i++) {
      const fed = standInFederation(o, ['--restore-from', file]);
      // The backup's name, the case's namespace: a restore keeps the name.
      const args = [fed.args[0]!, source.name, ...fed.args.slice(2)];
      try {
        const at = await killAtRandom(args, restoreMs);
        const again = await cli(args);
        const problems: string[] = [];
        if (again.code !== 0) problems.push(`re-run exit ${again.code}: ${again.stderr.trim()}`);
        else problems.push(...(await restoredProblems({ ...env, KUBECONFIG: fed.kubeconfig }, source.name, 'host', fed.namespace, backup)));
        tally(killedRestore, `killed at ${at} ms`, problems);
      } finally {
        await fed.stop();
      }
    }
    return [consistency, killedBackup, killedRestore];
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
