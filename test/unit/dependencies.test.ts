// What a workload's pods need (dependencies that follow it): every way a pod template names a
// ConfigMap, Secret, ServiceAccount or PersistentVolumeClaim.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATIONS } from '../../shared/propagation/annotations.ts';
import { follows, references } from '../../shared/propagation/dependencies.ts';

test('volumes, projected sources, env, envFrom, image pull secrets and the service account; the default account never', () => {
  const pod = {
    serviceAccountName: 'runner',
    imagePullSecrets: [{ name: 'pull' }],
    initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'init-env' } }] }],
    containers: [{ name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'keys', key: 'a' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'flags', key: 'b' } } }], envFrom: [{ secretRef: { name: 'all' } }] }],
    volumes: [{ name: 'v1', configMap: { name: 'files' } }, { name: 'v2', secret: { secretName: 'certs' } }, { name: 'v3', persistentVolumeClaim: { claimName: 'data' } }, { name: 'v4', projected: { sources: [{ configMap: { name: 'p-cm' } }, { secret: { name: 'p-sec' } }] } }],
  };
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w', namespace: 'n' }, spec: { template: { spec: pod } } };
  assert.deepEqual(references(deployment).sort(), [
    'ConfigMap/files', 'ConfigMap/flags', 'ConfigMap/init-env', 'ConfigMap/p-cm', 'PersistentVolumeClaim/data', 'Secret/all', 'Secret/certs', 'Secret/keys', 'Secret/p-sec', 'Secret/pull', 'ServiceAccount/runner',
  ]);
  const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName: 'default', containers: [{ name: 'x', envFrom: [{ configMapRef: { name: 'cron-env' } }] }] } } } } } };
  assert.deepEqual(references(cron), ['ConfigMap/cron-env']);
  assert.deepEqual(references({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), []);
});

test('a dependency follows unless it has a selector of its own', () => {
  assert.equal(follows({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }), true);
  assert.equal(follows({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', annotations: { [ANNOTATIONS.clusterSelector]: 'x=y' } } }), false);
  assert.equal(follows({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } }), false);
});
