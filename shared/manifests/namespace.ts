import type { V1Namespace } from '@kubernetes/client-node';
import type { InitConfig } from './config.ts';
import { metadata } from './meta.ts';
import { POD_SECURITY_LABELS } from './pod-security.ts';
import type { Typed } from './types.ts';

/** podSecurity: label it with the Pod Security level init's pods meet (a namespace init creates). */
export function federationNamespace(cfg: InitConfig, podSecurity: boolean): Typed<V1Namespace> {
  const meta = metadata(cfg.namespace, cfg.name);
  return { apiVersion: 'v1', kind: 'Namespace', metadata: podSecurity ? { ...meta, labels: { ...meta.labels, ...POD_SECURITY_LABELS } } : meta };
}
