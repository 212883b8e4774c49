// Dependencies that follow: the ConfigMaps, Secrets, ServiceAccounts and PersistentVolumeClaims a
// workload's pod template names go where the workload goes. Pure functions: which objects a
// workload references, and whether an object is one that follows (it has no placement of its own).
import { ANNOTATIONS } from './annotations.ts';
import type { FederatedObject } from './copy.ts';
import { podSpec } from './overrides.ts';

export type DependencyKind = 'ConfigMap' | 'Secret' | 'ServiceAccount' | 'PersistentVolumeClaim';
export const DEPENDENCY_KINDS: readonly string[] = ['ConfigMap', 'Secret', 'ServiceAccount', 'PersistentVolumeClaim'];
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);

export const isWorkload = (kind: string): boolean => WORKLOAD_KINDS.has(kind);

interface EnvSource {
  valueFrom?: { configMapKeyRef?: { name?: string }; secretKeyRef?: { name?: string } };
}
interface Container {
  env?: EnvSource[];
  envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
}
interface Volume {
  configMap?: { name?: string };
  secret?: { secretName?: string };
  persistentVolumeClaim?: { claimName?: string };
  projected?: { sources?: { configMap?: { name?: string }; secret?: { name?: string } }[] };
}

/** "ConfigMap/settings", ... : what the workload's pods need in their namespace (none for other kinds). */
export function references(workload: FederatedObject): string[] {
  if (!isWorkload(workload.kind)) return [];
  const spec = podSpec(workload);
  if (!spec) return [];
  const out = new Set<string>();
  const add = (kind: DependencyKind, name: string | undefined) => {
    if (name) out.add(`${kind}/${name}`);
  };
  const containers = [...((spec.initContainers as Container[] | undefined) ?? []), ...((spec.containers as Container[] | undefined) ?? [])];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      add('ConfigMap', e.valueFrom?.configMapKeyRef?.name);
      add('Secret', e.valueFrom?.secretKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add('ConfigMap', e.configMapRef?.name);
      add('Secret', e.secretRef?.name);
    }
  }
  for (const v of (spec.volumes as Volume[] | undefined) ?? []) {
    add('ConfigMap', v.configMap?.name);
    add('Secret', v.secret?.secretName);
    add('PersistentVolumeClaim', v.persistentVolumeClaim?.claimName);
    for (const s of v.projected?.sources ?? []) {
      add('ConfigMap', s.configMap?.name);
      add('Secret', s.secret?.name);
    }
  }
  for (const s of (spec.imagePullSecrets as { name?: string }[] | undefined) ?? []) add('Secret', s.name);
  // Every namespace has its own "default" account: it never follows.
  const account = spec.serviceAccountName as string | undefined;
  if (account && account !== 'default') add('ServiceAccount', account);
  return [...out];
}

/** A dependency kind with no cluster selector of its own: it follows the workloads that use it. */
export function follows(obj: FederatedObject): boolean {
  return DEPENDENCY_KINDS.includes(obj.kind) && obj.metadata.annotations?.[ANNOTATIONS.clusterSelector] === undefined;
}
