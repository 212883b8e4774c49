// Shared by init's tests: a private copy of the planes' kubeconfig, and a census of what init made.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Planes } from '../support/localcluster.ts';

/** A kubeconfig of the test's own, so init can write to it without touching other tests. */
export function privateKubeconfig(planes: Planes): string {
  const path = join(mkdtempSync(join(tmpdir(), 'init-kubeconfig-')), 'config');
  copyFileSync(planes.kubeconfig, path);
  return path;
}

/**
 * kind/name -> when init's field manager last changed the object, and a digest of its data: what
 * changes when init writes something new, and not when Kubernetes' own controllers touch it.
 */
export async function census(kc: KubeConfig, namespace: string): Promise<Map<string, string>> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const lists = await Promise.all([
    core.listNamespacedService({ namespace }).then((l) => ['Service', l.items] as const),
    core.listNamespacedSecret({ namespace }).then((l) => ['Secret', l.items] as const),
    core.listNamespacedConfigMap({ namespace }).then((l) => ['ConfigMap', l.items] as const),
    core.listNamespacedServiceAccount({ namespace }).then((l) => ['ServiceAccount', l.items] as const),
    core.listNamespacedPersistentVolumeClaim({ namespace }).then((l) => ['PersistentVolumeClaim', l.items] as const),
    apps.listNamespacedDeployment({ namespace }).then((l) => ['Deployment', l.items] as const),
    rbac.listNamespacedRole({ namespace }).then((l) => ['Role', l.items] as const),
    rbac.listNamespacedRoleBinding({ namespace }).then((l) => ['RoleBinding', l.items] as const),
  ]);
  const out = new Map<string, string>();
  for (const [kind, items] of lists) {
    for (const item of items) {
      const name = item.metadata?.name ?? '';
      // Objects Kubernetes itself puts in every namespace are not init's.
      if (name === 'default' || name === 'kube-root-ca.crt') continue;
      const ours = item.metadata?.managedFields?.find((f) => f.manager === 'kubectl-federation');
      const data = 'data' in item ? JSON.stringify(item.data) : '';
      out.set(`${kind}/${name}`, `${ours?.time?.toISOString() ?? 'never'}|${createHash('sha256').update(data).digest('hex').slice(0, 12)}`);
    }
  }
  return out;
}

let counter = 0;
/** A federation name and namespace no other test uses. */
export function uniqueFederation(): { name: string; namespace: string } {
  counter += 1;
  const name = `fed-${process.pid % 10000}-${counter}`;
  return { name, namespace: `${name}-system` };
}
