// What the kubelet and the container runtime make of a pod's and a container's securityContext: the
// user, groups and capabilities the process gets, and the refusals a real node would give. The pod
// runner enforces these so that a manifest a kubelet would refuse is refused here too, instead of
// passing on the local planes and failing on a real cluster.
import { basename } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { LocalImage } from './images.ts';

/** containerd's and CRI-O's default capability set for a container that asks for nothing else. */
export const RUNTIME_DEFAULT_CAPABILITIES = [
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
];

/** The kubelet refuses to create the container (CreateContainerConfigError). */
export class SecurityRefusal extends Error {}

export interface ProcessIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups: fsGroup and supplementalGroups. */
  groups: number[];
  /** allowPrivilegeEscalation: false. */
  noNewPrivs: boolean;
  /** The bounding set, upper case without CAP_. */
  capabilities: string[];
  /** Set when the kernel would refuse to exec the program: what the container's log says. */
  execRefusal?: string;
}

const capName = (c: string) => c.toUpperCase().replace(/^CAP_/, '');

/**
 * The process a container becomes. Throws SecurityRefusal for what the kubelet refuses before
 * starting it (runAsNonRoot with a root user), with the kubelet's own wording.
 */
export function processIdentity(pod: V1Pod, container: V1Container, image: LocalImage, program: string): ProcessIdentity {
  const podSC = pod.spec?.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const runAsUser = sc.runAsUser ?? podSC.runAsUser;
  const runAsGroup = sc.runAsGroup ?? podSC.runAsGroup;
  const runAsNonRoot = sc.runAsNonRoot ?? podSC.runAsNonRoot;
  const where = `pod: "${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})", container: ${container.name}`;
  const uid = runAsUser ?? image.user ?? 0;
  if (runAsNonRoot && runAsUser === 0) throw new SecurityRefusal(`container's runAsUser breaks non-root policy (${where})`);
  if (runAsNonRoot && uid === 0) throw new SecurityRefusal(`container has runAsNonRoot and image will run as root (${where})`);
  const groups = [podSC.fsGroup, ...(podSC.supplementalGroups ?? [])].filter((g): g is number => g !== undefined);
  const drop = (sc.capabilities?.drop ?? []).map(capName);
  const add = (sc.capabilities?.add ?? []).map(capName);
  const base = drop.includes('ALL') ? [] : RUNTIME_DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  const capabilities = [...new Set([...base, ...add])].sort();
  const missing = (image.fileCapabilities?.[basename(program)] ?? []).map(capName).filter((c) => !capabilities.includes(c));
  return {
    uid,
    // The images here have no /etc/passwd entry for the users manifests choose: the runtime's
    // primary group is then 0, as it is on a real node.
    gid: runAsGroup ?? 0,
    groups: [...new Set(groups)],
    noNewPrivs: sc.allowPrivilegeEscalation === false,
    capabilities,
    ...(missing.length > 0 ? { execRefusal: `exec ${program}: operation not permitted (its file capabilities ${missing.join(', ')} are not in the container's bounding set)` } : {}),
  };
}
