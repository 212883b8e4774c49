import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { APISERVER_NAME, ETCD_CLAIM } from '../constants.ts';
import type { InitConfig } from './config.ts';
import { metadata } from './meta.ts';
import type { Typed } from './types.ts';

/** etcd's data: a claim on a dynamically provisioned volume. */
export function etcdClaim(cfg: InitConfig): Typed<V1PersistentVolumeClaim> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: metadata(ETCD_CLAIM, cfg.name, APISERVER_NAME, cfg.namespace),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: cfg.etcd.capacity } },
      ...(cfg.etcd.storageClass ? { storageClassName: cfg.etcd.storageClass } : {}),
    },
  };
}
