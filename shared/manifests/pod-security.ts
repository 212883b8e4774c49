// What every pod init deploys asks of the node: users, capabilities, seccomp and resources. Both
// Deployments meet Pod Security "restricted", so they run in namespaces that enforce it (many
// clusters label every namespace so) and the namespace init creates is labelled with that level.
import type { V1PodSecurityContext, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';
import type { ContainerResources } from './config.ts';

/** Secret files readable by the pod's group (fsGroup) only: they hold private keys. */
export const SECRET_FILE_MODE = 0o440;

/** The level init's pods meet, and the label it puts on the namespace it creates. */
export const POD_SECURITY_LEVEL = 'restricted';
export const POD_SECURITY_LABELS = {
  'pod-security.kubernetes.io/enforce': POD_SECURITY_LEVEL,
  'pod-security.kubernetes.io/enforce-version': 'latest',
};

/**
 * etcd and kube-apiserver: the "nonroot" user of the distroless images they are built on. The
 * upstream images default to root, so the user is set here; fsGroup lets etcd write its volume.
 */
export const APISERVER_POD_USER = 65532;
/** The controller manager: the "node" user of the official Node.js image. */
export const CONTROLLER_MANAGER_POD_USER = 1000;

export function restrictedPodSecurity(user: number): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: user,
    runAsGroup: user,
    // The kubelet gives the pod's volumes to this group: a fresh persistent volume is root's.
    fsGroup: user,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * A container with no privileges at all, bar `add`. kube-apiserver needs NET_BIND_SERVICE although
 * it listens on 8443: its image's binary carries that file capability (setcap, so it can bind 443
 * as non-root), and the kernel refuses to exec a binary whose file capabilities fall outside the
 * bounding set. "restricted" allows adding exactly this one.
 */
export function restrictedContainerSecurity(add: string[] = [], readOnlyRootFilesystem = false): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'], ...(add.length > 0 ? { add } : {}) },
    ...(readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
  };
}

/**
 * Requests so the pods are not BestEffort (the first evicted under pressure), from what they use
 * on the local planes with a few members; a memory limit only where the use is bounded by our own
 * code (the controller manager). kube-apiserver and etcd get none: killing them at a limit would
 * lose the federation, and their use grows with what users store. Overridable per container.
 */
export const DEFAULT_RESOURCES: Record<'apiserver' | 'etcd' | 'controllerManager', ContainerResources> = {
  apiserver: { requests: { cpu: '250m', memory: '512Mi' }, limits: {} },
  etcd: { requests: { cpu: '100m', memory: '128Mi' }, limits: {} },
  controllerManager: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } },
};

export function resourceRequirements(r: ContainerResources): V1ResourceRequirements {
  return {
    ...(Object.keys(r.requests).length > 0 ? { requests: r.requests } : {}),
    ...(Object.keys(r.limits).length > 0 ? { limits: r.limits } : {}),
  };
}
