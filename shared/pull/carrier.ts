// What passes between the controller manager and a pull member's agent, both in the member's own
// federation namespace: a carrier (a Secret: one rendered copy, exactly what a push member would be
// sent, with its drift mode) and a report (a ConfigMap: what the agent made of it, with the copy's
// metadata and status as the member has them). Both sides read and write them through here.
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { MANAGED_BY } from '../constants.ts';
import type { Typed } from '../manifests/types.ts';
import type { FederatedObject } from '../propagation/copy.ts';
import type { DriftMode } from '../propagation/drift.ts';
import { canonical } from '../propagation/status.ts';
import { CARRIER_LABEL, CARRIER_TYPE, OBJECT_ANNOTATION, pullNamespace, REPORT_LABEL } from './names.ts';

export interface Carrier {
  /** The federation object's queue key: "Deployment.apps/ns/name". */
  key: string;
  /** The member's copy as push would apply it (overrides, replica share, labels all in). */
  copy: FederatedObject;
  mode: DriftMode;
  /** JSON pointers the member owns (drift annotations): the agent keeps the member's values there. */
  owned: string[];
}

export interface Report {
  /** The digest of the carrier's copy this report is about: older reports are not current. */
  want: string;
  /** The agent applied that copy (or found it in place). */
  current: boolean;
  /** The copy as the member has it: metadata, spec.replicas, status (what the record and rollouts read). */
  copy?: FederatedObject;
  error?: string;
  /** What the failure asks of the controller: 'user' for a conflict, else retried by the agent. */
  waitsFor?: 'user' | 'soon' | 'retry';
  /** Someone changed or deleted the copy in the member: put back (Repair), or left (Report). */
  drift?: 'changed' | 'deleted';
  /** An object the member had was taken over (adopt annotation). */
  adopted?: boolean;
}

/** A carrier's (and its report's) name: stable per object, valid whatever the object's name. */
export const carrierName = (key: string): string => `copy-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;

export const copyDigest = (copy: FederatedObject): string => createHash('sha256').update(canonical(copy)).digest('base64').slice(0, 24);

const labels = (label: string) => ({ 'app.kubernetes.io/managed-by': MANAGED_BY, [label]: 'true' });

export function carrierSecret(cluster: string, c: Carrier): Typed<V1Secret> {
  const data = { copy: JSON.stringify(c.copy), mode: c.mode, owned: JSON.stringify(c.owned) };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: CARRIER_TYPE,
    metadata: { name: carrierName(c.key), namespace: pullNamespace(cluster), labels: labels(CARRIER_LABEL), annotations: { [OBJECT_ANNOTATION]: c.key } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export function readCarrier(s: { metadata?: { annotations?: Record<string, string> }; data?: Record<string, string> }): Carrier | undefined {
  const key = s.metadata?.annotations?.[OBJECT_ANNOTATION];
  const text = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString() : undefined);
  const copy = text('copy');
  if (!key || !copy) return undefined;
  try {
    return { key, copy: JSON.parse(copy) as FederatedObject, mode: text('mode') === 'Report' ? 'Report' : 'Repair', owned: JSON.parse(text('owned') ?? '[]') as string[] };
  } catch {
    return undefined;
  }
}

export function reportConfigMap(cluster: string, key: string, report: Report): Typed<V1ConfigMap> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: carrierName(key), namespace: pullNamespace(cluster), labels: labels(REPORT_LABEL), annotations: { [OBJECT_ANNOTATION]: key } },
    data: { report: JSON.stringify(report) },
  };
}

export function readReport(cm: { metadata?: { annotations?: Record<string, string> }; data?: Record<string, string> }): (Report & { key: string }) | undefined {
  const key = cm.metadata?.annotations?.[OBJECT_ANNOTATION];
  if (!key || !cm.data?.report) return undefined;
  try {
    return { ...(JSON.parse(cm.data.report) as Report), key };
  } catch {
    return undefined;
  }
}

/** What a report keeps of the member's copy: enough for health, the record and rollouts; never data or a pod spec. */
export function reportedCopy(obj: FederatedObject): FederatedObject {
  const m = obj.metadata;
  const spec = obj.spec as { replicas?: number; template?: { metadata?: unknown } } | undefined;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    },
    ...(spec?.replicas !== undefined || spec?.template?.metadata ? { spec: { ...(spec.replicas !== undefined ? { replicas: spec.replicas } : {}), ...(spec.template?.metadata ? { template: { metadata: spec.template.metadata } } : {}) } } : {}),
    ...(obj.status !== undefined ? { status: obj.status } : {}),
  };
}
