// A pod's volumes as directories on the node, the way the kubelet materialises them: Secrets and
// ConfigMaps as files (with their modes), emptyDir as an empty directory of the pod, projected
// service-account tokens from the TokenRequest API, and PersistentVolumeClaims on a volume of the
// node that outlives the pod (the runner provisions a PV for a claim, like a local-path provisioner).
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  V1ConfigMap,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1Volume,
} from '@kubernetes/client-node';
import type { RestClient } from '../../shared/kube/rest.ts';

/** Not ready yet (a Secret not created yet, a claim not bound yet): the kubelet retries. */
export class VolumeNotReady extends Error {}

export interface VolumeContext {
  client: RestClient;
  pod: V1Pod;
  /** Where this pod's volumes go. */
  podDir: string;
  /** Where persistent volumes live: under the node, not the pod. */
  volumesDir: string;
  /** The node: a volume made here is this node's alone (node affinity, as local-path's). */
  nodeName: string;
}

const DEFAULT_MODE = 0o644;

/** Writes a volume's file whole or not at all: a container may be reading it (a refreshed token). */
function writeFile(dir: string, path: string, content: Buffer | string, mode: number): void {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const next = `${file}.next`;
  writeFileSync(next, content);
  chmodSync(next, mode);
  renameSync(next, file);
}

/**
 * When the pod's projected tokens need replacing: at 80% of the shortest lifetime, as the kubelet
 * does; undefined when the pod has none.
 */
export function tokenRefreshDelayMs(pod: V1Pod): number | undefined {
  const lifetimes = (pod.spec?.volumes ?? []).flatMap((v) =>
    (v.projected?.sources ?? []).flatMap((s) => (s.serviceAccountToken ? [s.serviceAccountToken.expirationSeconds ?? 3607] : [])),
  );
  return lifetimes.length === 0 ? undefined : Math.min(...lifetimes) * 800;
}

/** The keys a Secret or ConfigMap volume shows: all, or the listed items. */
function project(
  dir: string,
  values: Record<string, Buffer>,
  items: V1KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
): void {
  const chosen: V1KeyToPath[] = items ?? Object.keys(values).map((key) => ({ key, path: key }));
  for (const item of chosen) {
    const value = values[item.key];
    if (value === undefined) throw new VolumeNotReady(`${what} has no key ${item.key}`);
    writeFile(dir, item.path, value, item.mode ?? defaultMode);
  }
}

async function read<T>(ctx: VolumeContext, path: string, what: string, optional = false): Promise<T | undefined> {
  const found = await ctx.client.find<T>(path);
  if (!found && !optional) throw new VolumeNotReady(`${what} not found`);
  return found;
}

const ns = (ctx: VolumeContext) => ctx.pod.metadata!.namespace!;

async function secretValues(ctx: VolumeContext, name: string, optional?: boolean): Promise<Record<string, Buffer> | undefined> {
  const secret = await read<V1Secret>(ctx, `/api/v1/namespaces/${ns(ctx)}/secrets/${name}`, `Secret ${name}`, optional);
  if (!secret) return undefined;
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

async function configMapValues(ctx: VolumeContext, name: string, optional?: boolean): Promise<Record<string, Buffer> | undefined> {
  const cm = await read<V1ConfigMap>(ctx, `/api/v1/namespaces/${ns(ctx)}/configmaps/${name}`, `ConfigMap ${name}`, optional);
  if (!cm) return undefined;
  return {
    ...Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
    ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  };
}

function downwardValue(pod: V1Pod, item: V1DownwardAPIVolumeFile): string {
  const field = item.fieldRef?.fieldPath;
  const meta = pod.metadata!;
  if (field === 'metadata.namespace') return meta.namespace!;
  if (field === 'metadata.name') return meta.name!;
  if (field === 'metadata.uid') return meta.uid!;
  if (field === 'metadata.labels') return Object.entries(meta.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
  if (field === 'metadata.annotations') return Object.entries(meta.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
  throw new Error(`the local pod runner does not project ${field ?? 'resourceFieldRef'} in downward API volumes`);
}

/** A bound, short-lived token for the pod's service account, as the kubelet requests it. */
async function serviceAccountToken(ctx: VolumeContext, audience: string | undefined, expirationSeconds: number | undefined): Promise<string> {
  const pod = ctx.pod;
  const sa = pod.spec?.serviceAccountName ?? 'default';
  const answer = await ctx.client.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${ns(ctx)}/serviceaccounts/${sa}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          ...(audience ? { audiences: [audience] } : {}),
          expirationSeconds: expirationSeconds ?? 3607,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid },
        },
      },
    },
  );
  return answer.status.token;
}

/**
 * The claim's volume directory. An unbound claim gets a PersistentVolume made for it (bound ahead
 * through claimRef; the real PV controller completes the binding), and the pod waits until then.
 */
async function claimDirectory(ctx: VolumeContext, claimName: string): Promise<string> {
  const claim = await read<V1PersistentVolumeClaim>(
    ctx,
    `/api/v1/namespaces/${ns(ctx)}/persistentvolumeclaims/${claimName}`,
    `PersistentVolumeClaim ${claimName}`,
  );
  const bound = claim!.spec?.volumeName;
  if (bound && claim!.status?.phase === 'Bound') return join(ctx.volumesDir, bound);
  const pvName = `local-${claim!.metadata!.uid}`;
  const dir = join(ctx.volumesDir, pvName);
  if (!(await ctx.client.find<V1PersistentVolume>(`/api/v1/persistentvolumes/${pvName}`))) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const pv: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, labels: { 'local-pod-runner/volume': 'true' } },
      spec: {
        capacity: { storage: claim!.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: claim!.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: claim!.spec?.storageClassName ?? '',
        hostPath: { path: dir, type: 'Directory' },
        // The directory exists on this node only: a pod of the claim that moves elsewhere could
        // not see it, so the scheduler keeps the claim's pods here.
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [ctx.nodeName] }] }] } },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns(ctx), name: claimName, uid: claim!.metadata!.uid },
      },
    };
    await ctx.client.request('POST', '/api/v1/persistentvolumes', { body: pv });
  }
  throw new VolumeNotReady(`PersistentVolumeClaim ${claimName} is not bound yet`);
}

/**
 * The pod's fsGroup applied to a volume as the kubelet does (SetVolumeOwnership): everything in it
 * owned by that group, readable (and, unless the volume is read-only, writable) by it, directories
 * setgid so new files keep the group. Without an fsGroup a volume stays root's, and a non-root
 * container cannot write a fresh persistent volume: on a real node neither.
 */
export function applyFsGroup(path: string, gid: number, writable: boolean): void {
  const mask = writable ? 0o660 : 0o440;
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    chownSync(p, -1, gid);
    if (st.isDirectory()) {
      chmodSync(p, (st.mode & 0o7777) | mask | 0o110 | 0o2000);
      for (const entry of readdirSync(p)) visit(join(p, entry));
    } else {
      chmodSync(p, (st.mode & 0o7777) | mask);
    }
  };
  visit(path);
}

/** Materialises one volume; returns the directory (or file) that its mounts bind. */
export async function prepareVolume(ctx: VolumeContext, volume: V1Volume): Promise<string> {
  const dir = await materialise(ctx, volume);
  const fsGroup = ctx.pod.spec?.securityContext?.fsGroup;
  // Secrets, ConfigMaps, downward API and projected volumes are read-only to the pod.
  const writable = Boolean(volume.emptyDir || volume.persistentVolumeClaim);
  if (fsGroup !== undefined && !volume.hostPath) applyFsGroup(dir, fsGroup, writable);
  return dir;
}

async function materialise(ctx: VolumeContext, volume: V1Volume): Promise<string> {
  const dir = join(ctx.podDir, 'volumes', volume.name);
  if (volume.persistentVolumeClaim) return claimDirectory(ctx, volume.persistentVolumeClaim.claimName);
  if (volume.hostPath) return volume.hostPath.path;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (volume.emptyDir) {
    chmodSync(dir, 0o777);
  } else if (volume.secret) {
    const values = await secretValues(ctx, volume.secret.secretName!, volume.secret.optional);
    if (values) project(dir, values, volume.secret.items, volume.secret.defaultMode ?? DEFAULT_MODE, `Secret ${volume.secret.secretName}`);
  } else if (volume.configMap) {
    const values = await configMapValues(ctx, volume.configMap.name!, volume.configMap.optional);
    if (values) project(dir, values, volume.configMap.items, volume.configMap.defaultMode ?? DEFAULT_MODE, `ConfigMap ${volume.configMap.name}`);
  } else if (volume.downwardAPI) {
    for (const item of volume.downwardAPI.items ?? []) writeFile(dir, item.path, downwardValue(ctx.pod, item), item.mode ?? DEFAULT_MODE);
  } else if (volume.projected) {
    const mode = volume.projected.defaultMode ?? DEFAULT_MODE;
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const t = source.serviceAccountToken;
        writeFile(dir, t.path, await serviceAccountToken(ctx, t.audience, t.expirationSeconds), mode);
      } else if (source.configMap) {
        const values = await configMapValues(ctx, source.configMap.name!, source.configMap.optional);
        if (values) project(dir, values, source.configMap.items, mode, `ConfigMap ${source.configMap.name}`);
      } else if (source.secret) {
        const values = await secretValues(ctx, source.secret.name!, source.secret.optional);
        if (values) project(dir, values, source.secret.items, mode, `Secret ${source.secret.name}`);
      } else if (source.downwardAPI) {
        for (const item of source.downwardAPI.items ?? []) writeFile(dir, item.path, downwardValue(ctx.pod, item), item.mode ?? mode);
      } else {
        throw new Error(`volume ${volume.name}: the local pod runner cannot project ${Object.keys(source).join(', ')}`);
      }
    }
  } else {
    const kind = Object.keys(volume).filter((k) => k !== 'name').join(', ');
    throw new Error(`volume ${volume.name}: the local pod runner does not support ${kind} volumes`);
  }
  return dir;
}
