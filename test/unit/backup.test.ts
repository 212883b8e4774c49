// The backup file and what goes into it: pure parts, without a cluster (test/backup has the rest).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BACKUP_API_VERSION, BACKUP_KIND, decodeBackup, encodeBackup, type FederationBackup } from '../../shared/backup/format.ts';
import { backedUpResources, forBackup, forCreate, isBackedUp } from '../../shared/backup/selection.ts';
import type { ApiResource } from '../../shared/kube/discovery.ts';
import type { KubeObject } from '../../shared/kube/resources.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const backup: FederationBackup = {
  apiVersion: BACKUP_API_VERSION,
  kind: BACKUP_KIND,
  federation: 'fed',
  namespace: 'federation-system',
  federationId: 'abc123',
  takenAt: '2026-12-01T00:00:00Z',
  resourceVersion: '42',
  serverVersion: 'v1.37.2',
  credentials: { 'ca.crt': b64('CA'), 'ca.key': b64('KEY'), 'service-account.key': b64('SA'), 'service-account.pub': b64('PUB') },
  resources: [{ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'x' } }] }],
};

test('a backup reads back as it was written', () => {
  assert.deepEqual(decodeBackup(encodeBackup(backup), 'f'), backup);
});

test('a truncated or damaged file is told apart from a foreign one, in one line each', () => {
  const bytes = encodeBackup(backup);
  assert.throws(() => decodeBackup(bytes.subarray(0, bytes.length - 10), 'f.gz'), /^InputError: f\.gz is damaged or truncated \(unexpected end of file\): nothing was restored; use another copy of the backup$/);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 6]! ^= 0xff; // in the CRC32 of the trailer
  assert.throws(() => decodeBackup(flipped, 'f.gz'), /damaged or truncated/);
  assert.throws(() => decodeBackup(Buffer.from(JSON.stringify(backup)), 'f.json'), /^InputError: f\.json is not a backup made by kubectl federation backup \(it is not gzip data\)/);
  assert.throws(() => decodeBackup(Buffer.alloc(0), 'f'), /\(it is empty\)/);
  assert.throws(() => decodeBackup(gzipSync('apiVersion: v1\nkind: List\n'), 'f'), /its content is not JSON/);
  assert.throws(() => decodeBackup(gzipSync(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] })), 'f'), /not a backup made by kubectl federation backup \(it is a List of v1\)/);
  const noCredentials: Partial<FederationBackup> = { ...backup };
  delete noCredentials.credentials;
  assert.throws(() => decodeBackup(encodeBackup(noCredentials as FederationBackup), 'f'), /damaged or truncated \(it has no credentials\)/);
  assert.throws(() => decodeBackup(encodeBackup({ ...backup, credentials: { 'ca.crt': b64('CA') } }), 'f'), /its credentials have no ca\.key/);
});

const resource = (group: string, plural: string, verbs = ['list', 'create'], extra: Partial<ApiResource> = {}): ApiResource => ({ group, version: 'v1', kind: plural, plural, namespaced: true, verbs, status: false, preferred: true, ...extra });

test('what is listed: every creatable kind once, but events, leases, records and the server\'s own', () => {
  const picked = backedUpResources([
    resource('', 'configmaps'),
    resource('', 'events'),
    resource('events.k8s.io', 'events'),
    resource('coordination.k8s.io', 'leases'),
    resource('core.federation.kubectl-federation.io', 'propagations'),
    resource('core.federation.kubectl-federation.io', 'clusters'),
    resource('apiregistration.k8s.io', 'apiservices'),
    resource('authorization.k8s.io', 'selfsubjectaccessreviews', ['create']),
    resource('apps', 'deployments', ['list', 'create'], { version: 'v1beta1', preferred: false }),
    resource('apps', 'deployments'),
  ]);
  assert.deepEqual(picked.map((r) => `${r.group}/${r.plural}`), ['/configmaps', 'core.federation.kubectl-federation.io/clusters', 'apps/deployments']);
});

const obj = (kind: string, name: string, namespace?: string, more: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, ...more });

test('what is kept: the data, not what a fresh API server makes itself', () => {
  const rbac = resource('rbac.authorization.k8s.io', 'clusterroles');
  assert.equal(isBackedUp(rbac, { ...obj('ClusterRole', 'edit'), metadata: { name: 'edit', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } } }), false);
  assert.equal(isBackedUp(rbac, obj('ClusterRole', 'team-a')), true);
  assert.equal(isBackedUp(resource('', 'configmaps'), obj('ConfigMap', 'kube-root-ca.crt', 'shop')), false);
  assert.equal(isBackedUp(resource('', 'configmaps'), obj('ConfigMap', 'settings', 'kube-system')), false);
  assert.equal(isBackedUp(resource('', 'configmaps'), obj('ConfigMap', 'settings', 'shop')), true);
  assert.equal(isBackedUp(resource('', 'secrets'), obj('Secret', 't', 'shop', { type: 'kubernetes.io/service-account-token' })), false);
  assert.equal(isBackedUp(resource('', 'secrets'), obj('Secret', 'member-1', 'federation-system', { type: 'Opaque' })), true);
  assert.equal(isBackedUp(resource('', 'services'), obj('Service', 'kubernetes', 'default')), false);
  assert.equal(isBackedUp(resource('', 'namespaces'), obj('Namespace', 'kube-system')), true, 'kept for its labels and annotations');
  assert.equal(isBackedUp(resource('scheduling.k8s.io', 'priorityclasses'), obj('PriorityClass', 'system-node-critical')), false);
  assert.equal(isBackedUp(resource('', 'configmaps'), { ...obj('ConfigMap', 'going', 'shop'), metadata: { name: 'going', namespace: 'shop', deletionTimestamp: '2026-01-01T00:00:00Z' } }), false);
});

test('into the file without the server\'s bookkeeping; back with new owners\' UIDs', () => {
  const live = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-1', namespace: 'shop', uid: 'old-rs', resourceVersion: '7', generation: 2, creationTimestamp: 't', managedFields: [{ manager: 'kubectl' }], ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'old-deploy', controller: true }] }, spec: { replicas: 1 }, status: { replicas: 1 } };
  const filed = forBackup({ status: true }, live);
  assert.deepEqual(Object.keys(filed.metadata).sort(), ['creationTimestamp', 'managedFields', 'name', 'namespace', 'ownerReferences', 'uid']);
  assert.equal(filed.status, undefined);
  assert.deepEqual(forBackup({ status: false }, live).status, { replicas: 1 });
  const created = forCreate(filed, new Map([['old-deploy', 'new-deploy']]));
  assert.deepEqual(Object.keys(created.metadata).sort(), ['managedFields', 'name', 'namespace', 'ownerReferences']);
  assert.deepEqual(created.metadata.ownerReferences, [{ kind: 'Deployment', name: 'web', uid: 'new-deploy', controller: true }]);
  assert.equal((live.metadata as { uid: string }).uid, 'old-rs', 'the original is untouched');
});
