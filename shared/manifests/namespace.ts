import type { V1Namespace } from '@kubernetes/client-node';
import type { InitConfig } from './config.ts';
import { metadata } from './meta.ts';
import type { Typed } from './types.ts';

export function federationNamespace(cfg: InitConfig): Typed<V1Namespace> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: metadata(cfg.namespace, cfg.name) };
}
