// The pure rules of propagation: placement, replica division, member copies, status combination.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordName } from '../../controller-manager/propagation/types.ts';
import { REVISION_ANNOTATION, templateHash } from '../../shared/propagation/revisions.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { type FederatedObject, isSubset, memberCopy, olderVersion, projection } from '../../shared/propagation/copy.ts';
import { DEFAULT_PROPAGATED_KINDS, parseKindList, propagatedKindsFlag } from '../../shared/propagation/kinds.ts';
import { divideReplicas, explainNoCluster, place } from '../../shared/propagation/placement.ts';
import { exclusion } from '../../shared/propagation/rules.ts';
import { aggregateStatus, type MemberCopy, statusDiffers } from '../../shared/propagation/status.ts';

const member = (name: string, labels: Record<string, string> = {}, ready = true, since = 1) => ({ name, labels, ready, since });

describe('placement', () => {
  const members = [member('b', { region: 'eu' }), member('a', { region: 'us' }), member('c', { region: 'eu' }, false, 1000)];
  test('every Ready member by default, by name', () => {
    assert.deepEqual(place({ objectAnnotations: {}, namespaceAnnotations: {}, members, now: 1_000_000, graceMs: 10 }), { clusters: ['a', 'b'], waiting: new Map() });
  });
  test("the object's selector only narrows its namespace's, never widens it", () => {
    const all = [...members, member('d', { region: 'eu', tier: 'edge' })];
    const ns = { [ANNOTATIONS.clusterSelector]: 'region=eu' };
    const at = (own: Record<string, string>) => place({ objectAnnotations: own, namespaceAnnotations: ns, members: all, now: 1_000_000, graceMs: 10 }).clusters;
    assert.deepEqual(at({}), ['b', 'd']);
    assert.deepEqual(at({ [ANNOTATIONS.clusterSelector]: 'tier=edge' }), ['d'], 'narrowed');
    assert.deepEqual(at({ [ANNOTATIONS.clusterSelector]: 'region=us' }), [], 'not widened to a cluster its namespace does not select');
    assert.match(
      explainNoCluster({ objectAnnotations: { [ANNOTATIONS.clusterSelector]: 'region=us' }, namespaceAnnotations: ns, members: all, now: 0, graceMs: 0 }),
      /^no Ready cluster matches its namespace's and the object's propagation\.core\.federation\.kubectl-federation\.io\/cluster-selector "region=eu,region=us"/,
    );
  });
  test('a member that turned NotReady keeps its place during the grace period only', () => {
    assert.deepEqual(place({ objectAnnotations: {}, namespaceAnnotations: {}, members, now: 1005, graceMs: 10 }), { clusters: ['a', 'b', 'c'], waiting: new Map([['c', 1010]]) });
    assert.deepEqual(place({ objectAnnotations: {}, namespaceAnnotations: {}, members, now: 1010, graceMs: 10 }).clusters, ['a', 'b']);
  });
  test('a bad selector throws with what to write instead', () => {
    assert.throws(
      () => place({ objectAnnotations: { [ANNOTATIONS.clusterSelector]: 'region in eu' }, namespaceAnnotations: {}, members, now: 0, graceMs: 0 }),
      /"region in eu".*write e\.g\. "region=eu,tier in \(web,api\),!canary"/,
    );
  });
});

describe('replicas', () => {
  test('even, with the remainder to the first names', () => {
    assert.deepEqual(Object.fromEntries(divideReplicas(5, ['c', 'a', 'b'], {})), { a: 2, b: 2, c: 1 });
    assert.deepEqual(Object.fromEntries(divideReplicas(1, ['b', 'a'], {})), { a: 1, b: 0 });
  });
  test('by weights; members without a weight get none', () => {
    const w = { [ANNOTATIONS.replicaWeights]: 'a=2,b=1' };
    assert.deepEqual(Object.fromEntries(divideReplicas(6, ['a', 'b', 'c'], w)), { a: 4, b: 2, c: 0 });
    assert.deepEqual(Object.fromEntries(divideReplicas(4, ['a', 'b'], w)), { a: 3, b: 1 });
    // The total is always kept.
    for (let total = 0; total < 50; total++) {
      const shares = divideReplicas(total, ['a', 'b', 'c'], { [ANNOTATIONS.replicaWeights]: 'a=3,b=5,c=7' });
      assert.equal([...shares.values()].reduce((s, n) => s + n, 0), total);
    }
  });
  test('duplicated: each gets the total', () => {
    assert.deepEqual(Object.fromEntries(divideReplicas(3, ['a', 'b'], { [ANNOTATIONS.replicaScheduling]: 'Duplicate' })), { a: 3, b: 3 });
  });
  test('bad annotations throw with what to write', () => {
    assert.throws(() => divideReplicas(3, ['a'], { [ANNOTATIONS.replicaWeights]: 'a:2' }), /"a:2" is not CLUSTER=WEIGHT; write e\.g\. "member-1=2,member-2=1"/);
    assert.throws(() => divideReplicas(3, ['a'], { [ANNOTATIONS.replicaScheduling]: 'Spread' }), /"Spread" is neither Divide nor Duplicate/);
  });
});

const fed = (kind: string, spec: Record<string, unknown>, meta: Partial<FederatedObject['metadata']> = {}): FederatedObject => ({
  apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
  kind,
  metadata: { name: 'x', namespace: 'ns', uid: 'u', resourceVersion: '7', generation: 3, finalizers: ['f'], ...meta },
  spec,
  status: { replicas: 9 },
});
const opts = { federationName: 'fed', federationId: 'abc123', userSetNodePorts: false };

describe('member copies', () => {
  test('identity, status and our annotations stay behind; our labels are added; replicas are the share', () => {
    const copy = memberCopy(
      fed('Deployment', { replicas: 4, template: {} }, { labels: { app: 'x' }, annotations: { keep: '1', [ANNOTATIONS.replicaWeights]: 'a=1', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }),
      { ...opts, replicas: 2 },
    );
    assert.deepEqual(copy, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      // The revision the copy runs: the digest of its pod template.
      metadata: { name: 'x', namespace: 'ns', labels: { app: 'x', 'federation.kubectl-federation.io/name': 'fed', [PROPAGATED_BY_LABEL]: 'abc123' }, annotations: { keep: '1', [REVISION_ANNOTATION]: templateHash({}) } },
      spec: { replicas: 2, template: {} },
    });
    // A member HPA owns the replicas: they are left out.
    assert.equal('replicas' in (memberCopy(fed('Deployment', { replicas: 4 }), { ...opts, replicas: undefined }).spec ?? {}), false);
  });
  test("a Service's allocated addresses and ports are the member's own", () => {
    const svc = fed('Service', { clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] });
    assert.deepEqual(memberCopy(svc, opts).spec, { type: 'NodePort', ports: [{ port: 80 }] });
    assert.deepEqual((memberCopy(svc, { ...opts, userSetNodePorts: true }).spec as { ports: unknown }).ports, [{ port: 80, nodePort: 30001 }]);
    assert.equal(memberCopy(fed('Service', { clusterIP: 'None' }), opts).spec?.clusterIP, 'None', 'headless stays headless');
  });
  test("a Job's generated selector and labels are the member's own", () => {
    const job = fed('Job', { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } }, template: { metadata: { labels: { app: 'j', 'controller-uid': 'u', 'batch.kubernetes.io/controller-uid': 'u', 'job-name': 'x', 'batch.kubernetes.io/job-name': 'x' } } } });
    assert.deepEqual(memberCopy(job, opts).spec, { template: { metadata: { labels: { app: 'j' } } } });
  });
  test('is a subset: defaults the member adds are no difference; a changed or missing value is', () => {
    assert.ok(isSubset({ a: 1, b: [{ c: 2 }], e: {} }, { a: 1, b: [{ c: 2, d: 3 }], f: 4 }));
    assert.ok(!isSubset({ a: 1 }, { a: 2 }));
    assert.ok(!isSubset({ b: [1, 2] }, { b: [1] }));
    assert.ok(!isSubset({ a: { x: 1 } }, {}));
  });
});

describe('member namespaces and Pod Security', () => {
  const ns = (labels: Record<string, string> = {}): FederatedObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', labels } });
  const base = { federationName: 'f', federationId: 'abc', userSetNodePorts: false };
  test('the namespace\'s own level, else the default; none leaves it to the member', () => {
    assert.equal(memberCopy(ns(), { ...base, podSecurity: 'baseline' }).metadata.labels?.['pod-security.kubernetes.io/enforce'], 'baseline');
    assert.equal(memberCopy(ns({ 'pod-security.kubernetes.io/enforce': 'restricted' }), { ...base, podSecurity: 'baseline' }).metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(memberCopy(ns(), base).metadata.labels?.['pod-security.kubernetes.io/enforce'], undefined);
  });
});

describe('why nothing was selected', () => {
  test('the selector, where it comes from, and every cluster with its labels', () => {
    const input = { objectAnnotations: { [ANNOTATIONS.clusterSelector]: 'zone=z9' }, namespaceAnnotations: {}, members: [member('b', { zone: 'z1' }), member('a', {}, false)], now: 0, graceMs: 0 };
    assert.equal(place(input).clusters.length, 0);
    const why = explainNoCluster(input);
    assert.match(why, /no Ready cluster matches the object's .*cluster-selector "zone=z9"/);
    assert.match(why, /clusters: a \(not Ready; no labels\), b \(Ready; zone=z1\)/);
    const fromNamespace = explainNoCluster({ ...input, objectAnnotations: {}, namespaceAnnotations: { [ANNOTATIONS.clusterSelector]: 'zone=z9' } });
    assert.match(fromNamespace, /its namespace's/);
    assert.match(explainNoCluster({ ...input, members: [] }), /no cluster is joined/);
  });
});

describe('drift: what the member keeps of our fields, and whose version is newer', () => {
  test('projection picks the paths the federation sets, as the member wrote them', () => {
    const want = { spec: { replicas: 2, template: { containers: [{ name: 'a', resources: { limits: { cpu: '1000m' } } }] } } };
    const got = { spec: { replicas: 2, paused: false, template: { containers: [{ name: 'a', image: 'x', resources: { limits: { cpu: '1' } } }] } }, status: { readyReplicas: 2 } };
    assert.deepEqual(projection(want, got), { spec: { replicas: 2, template: { containers: [{ name: 'a', resources: { limits: { cpu: '1' } } }] } } });
    const changed = structuredClone(got);
    changed.spec.replicas = 5;
    assert.notDeepEqual(projection(want, changed), projection(want, got));
    const statusOnly = structuredClone(got);
    statusOnly.status.readyReplicas = 0;
    assert.deepEqual(projection(want, statusOnly), projection(want, got), 'a status update is no drift');
  });
  test('resourceVersions compare as the revisions they are; anything else is not older', () => {
    assert.equal(olderVersion('99', '100'), true);
    assert.equal(olderVersion('100', '100'), false);
    assert.equal(olderVersion('101', '100'), false);
    assert.equal(olderVersion('abc', '100'), false);
    assert.equal(olderVersion(undefined, '100'), false);
  });
});

describe('never propagated', () => {
  const obj = (kind: string, name: string, namespace?: string, extra: Partial<FederatedObject['metadata']> = {}, rest: object = {}): FederatedObject => ({ apiVersion: 'v1', kind, metadata: { name, ...(namespace ? { namespace } : {}), ...extra }, ...rest });
  const excluded = (kind: string, o: FederatedObject, own?: string) => exclusion(kind, o, own) !== undefined;
  const told = (kind: string, o: FederatedObject) => exclusion(kind, o)?.tell;
  test('system namespaces, defaults, the federation\'s own, bootstrap RBAC, controller-owned objects', () => {
    assert.ok(excluded('ConfigMap', obj('ConfigMap', 'x', 'kube-system')));
    assert.ok(excluded('Namespace', obj('Namespace', 'kube-public')));
    assert.ok(excluded('Namespace', obj('Namespace', 'default')));
    assert.ok(excluded('ServiceAccount', obj('ServiceAccount', 'default', 'shop')));
    assert.ok(excluded('ConfigMap', obj('ConfigMap', 'kube-root-ca.crt', 'shop')));
    assert.ok(excluded('Secret', obj('Secret', 't', 'shop', {}, { type: 'kubernetes.io/service-account-token' })));
    assert.ok(excluded('ClusterRole', obj('ClusterRole', 'system:foo')));
    assert.ok(excluded('ClusterRole', obj('ClusterRole', 'admin', undefined, { labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } })));
    assert.ok(excluded('CustomResourceDefinition', obj('CustomResourceDefinition', 'c', undefined, { labels: { 'app.kubernetes.io/managed-by': 'kubectl-federation' } })));
    assert.ok(excluded('Service', obj('Service', 'kubernetes', 'default')));
    assert.ok(excluded('ReplicaSet', obj('ReplicaSet', 'r', 'shop', { ownerReferences: [{ controller: true }] })));
    assert.ok(excluded('Secret', obj('Secret', 'member-a', 'federation-system'), 'federation-system'));
    assert.ok(!excluded('ConfigMap', obj('ConfigMap', 'settings', 'shop')));
    assert.ok(!excluded('Namespace', obj('Namespace', 'shop')));
  });
  test('what a user made and meant to propagate is told why; what the servers make for themselves is not', () => {
    assert.equal(told('Secret', obj('Secret', 't', 'shop', {}, { type: 'kubernetes.io/service-account-token' })), true);
    assert.equal(told('ConfigMap', obj('ConfigMap', 'c', 'shop', { ownerReferences: [{ controller: true, kind: 'Widget', name: 'w' }] })), true);
    assert.match(exclusion('ConfigMap', obj('ConfigMap', 'c', 'shop', { ownerReferences: [{ controller: true, kind: 'Widget', name: 'w' }] }))!.reason, /Widget w/);
    assert.equal(told('ClusterRole', obj('ClusterRole', 'system:mine')), true);
    assert.equal(told('ConfigMap', obj('ConfigMap', 'x', 'kube-system')), true);
    assert.equal(told('ServiceAccount', obj('ServiceAccount', 'default', 'shop')), false);
    assert.equal(told('ConfigMap', obj('ConfigMap', 'kube-root-ca.crt', 'shop')), false);
    assert.equal(told('ClusterRole', obj('ClusterRole', 'admin', undefined, { labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } })), false);
  });
  test('record names are readable and valid', () => {
    assert.equal(recordName({ kind: 'Deployment', group: 'apps' }, 'web'), 'deployment.apps.web');
    assert.equal(recordName({ kind: 'ConfigMap', group: '' }, 'settings'), 'configmap.settings');
    assert.ok(recordName({ kind: 'ConfigMap', group: '' }, 'x'.repeat(253)).length <= 253);
    // A name a record cannot carry as it is becomes a valid one, kept apart from its look-alikes.
    const colon = recordName({ kind: 'ClusterRole', group: 'rbac.authorization.k8s.io' }, 'team:view');
    assert.match(colon, /^clusterrole\.rbac\.authorization\.k8s\.io\.team-view\.[0-9a-f]{8}$/);
    assert.notEqual(colon, recordName({ kind: 'ClusterRole', group: 'rbac.authorization.k8s.io' }, 'team-view'));
    assert.match(recordName({ kind: 'ClusterRole', group: 'rbac.authorization.k8s.io' }, 'system::x'), /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  });
  test('--propagated-kinds: the default list parses, a bad word is named', () => {
    assert.equal(parseKindList(DEFAULT_PROPAGATED_KINDS, '--propagated-kinds').length, 18);
    assert.throws(() => parseKindList('Deployment,,ConfigMap', '--propagated-kinds'), /"" is not a kind/);
  });
  test('--propagated-kinds refuses the kinds that change how a member admits, trusts or routes, in one line naming the kind', () => {
    for (const [word, why] of [
      ['ValidatingWebhookConfiguration.admissionregistration.k8s.io', /a ValidatingWebhookConfiguration decides what a member admits/],
      ['mutatingwebhookconfigurations.admissionregistration.k8s.io', /a MutatingWebhookConfiguration decides and changes/],
      ['validatingadmissionpolicybindings.admissionregistration.k8s.io', /ValidatingAdmissionPolicyBinding/],
      ['nodes', /a Node is one of a member's machines/],
      ['CertificateSigningRequest', /asks a member's CA/],
      ['apiservices.apiregistration.k8s.io', /an APIService routes/],
    ] as const) {
      assert.throws(() => propagatedKindsFlag(`ConfigMap,${word}`), { message: new RegExp(`^--propagated-kinds: "${word.replaceAll('.', '\\.')}" is never propagated \\(.*\\): leave it out$`) });
      assert.throws(() => propagatedKindsFlag(word), why);
    }
    assert.deepEqual(propagatedKindsFlag('ConfigMap,widgets.example.com'), ['ConfigMap', 'widgets.example.com']);
  });
});

describe('status combined from members', () => {
  const copy = (cluster: string, status: Record<string, unknown>, generation = 2, current = true): MemberCopy => ({
    cluster,
    current,
    object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation }, status },
  });
  const available = (ready: number, observedGeneration = 2, progressing = 'NewReplicaSetAvailable') => ({
    observedGeneration,
    replicas: ready,
    updatedReplicas: ready,
    readyReplicas: ready,
    availableReplicas: ready,
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
      { type: 'Progressing', status: progressing === 'ProgressDeadlineExceeded' ? 'False' : 'True', reason: progressing, message: 'm' },
    ],
  });
  test('summed; observedGeneration current once every member observed it', () => {
    const s = aggregateStatus('Deployment', 5, [copy('a', available(2)), copy('b', available(2))], undefined, 'T')!;
    assert.equal(s.observedGeneration, 5);
    assert.equal(s.readyReplicas, 4);
    assert.equal(s.conditions?.find((c) => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');
    const behind = aggregateStatus('Deployment', 5, [copy('a', available(2)), copy('b', available(2, 1))], { observedGeneration: 4 }, 'T')!;
    assert.equal(behind.observedGeneration, 4, 'rollout status keeps waiting for b');
    const notApplied = aggregateStatus('Deployment', 5, [copy('a', available(2)), copy('b', available(2), 2, false)], undefined, 'T')!;
    assert.equal(notApplied.observedGeneration, 0);
  });
  test('one member past its progress deadline fails the rollout, naming it', () => {
    const s = aggregateStatus('Deployment', 1, [copy('a', available(2)), copy('b', available(0, 2, 'ProgressDeadlineExceeded'))], undefined, 'T')!;
    const p = s.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(p?.reason, 'ProgressDeadlineExceeded');
    assert.match(p?.message ?? '', /^cluster b: /);
  });
  test('every member past its progress deadline is named', () => {
    const s = aggregateStatus('Deployment', 1, [copy('a', available(0, 2, 'ProgressDeadlineExceeded')), copy('b', available(0, 2, 'ProgressDeadlineExceeded')), copy('c', available(2))], undefined, 'T')!;
    assert.match(s.conditions?.find((c) => c.type === 'Progressing')?.message ?? '', /^cluster a: m; cluster b: m$/);
  });
  test('an unreachable member: its last-known counts are not summed, Available is False naming it, rollout waits', () => {
    const frozen: MemberCopy = { ...copy('b', available(2)), current: false, reachable: false };
    const s = aggregateStatus('Deployment', 2, [copy('a', available(2)), frozen], { observedGeneration: 2 }, 'T')!;
    assert.equal(s.readyReplicas, 2, 'only the reachable member counts');
    assert.equal(s.availableReplicas, 2);
    const avail = s.conditions?.find((c) => c.type === 'Available');
    assert.equal(avail?.status, 'False');
    assert.match(avail?.message ?? '', /cluster b is unreachable/);
    assert.match(s.conditions?.find((c) => c.type === 'Progressing')?.message ?? '', /waiting for b \(unreachable\)/);
    // A reachable member that answered (current) counts as before.
    const both = aggregateStatus('Deployment', 2, [copy('a', available(2)), copy('b', available(2))], undefined, 'T')!;
    assert.equal(both.readyReplicas, 4);
  });
  test('nothing selected: a Deployment is not Available and its rollout fails with the reason; other workloads keep waiting', () => {
    const why = 'no Ready cluster matches ...';
    const s = aggregateStatus('Deployment', 3, [], undefined, 'T', why)!;
    assert.equal(s.conditions?.find((c) => c.type === 'Available')?.status, 'False');
    assert.equal(s.conditions?.find((c) => c.type === 'Available')?.message, why);
    assert.equal(s.conditions?.find((c) => c.type === 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    assert.equal(s.observedGeneration, 3, 'observed, so that rollout status reads the condition');
    const ds = aggregateStatus('DaemonSet', 3, [], undefined, 'T', why)!;
    assert.equal(ds.observedGeneration, 0, 'a DaemonSet has no failing condition: it is not observed');
  });
  test('Services: every member\'s load-balancer ingress; Jobs: complete when every member is', () => {
    const svc = (ip: string): MemberCopy => ({ cluster: ip, current: true, object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, status: { loadBalancer: { ingress: [{ ip }] } } } });
    assert.deepEqual(aggregateStatus('Service', 1, [svc('1.1.1.1'), svc('2.2.2.2')], undefined, 'T'), { loadBalancer: { ingress: [{ ip: '1.1.1.1' }, { ip: '2.2.2.2' }] } });
    const job = (succeeded: number, complete: boolean): MemberCopy => ({
      cluster: 'x',
      current: true,
      object: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, status: { succeeded, ...(complete ? { conditions: [{ type: 'Complete', status: 'True' }], completionTime: `2026-01-0${succeeded}T00:00:00Z` } : {}) } },
    });
    const partial = aggregateStatus('Job', 1, [job(1, true), job(0, false)], undefined, 'T')!;
    assert.equal(partial.succeeded, 0);
    assert.equal(partial.conditions, undefined);
    const whole = aggregateStatus('Job', 1, [job(1, true), job(2, true)], undefined, 'T')!;
    assert.equal(whole.succeeded, 1);
    assert.deepEqual(whole.conditions?.map((c) => c.type), ['SuccessCriteriaMet', 'Complete']);
    assert.equal(whole.completionTime, '2026-01-02T00:00:00Z');
  });
  test('condition times alone are no change; kinds without status get none', () => {
    const a = aggregateStatus('Deployment', 1, [copy('a', available(2))], undefined, '2026-01-01T00:00:00Z')!;
    const b = aggregateStatus('Deployment', 1, [copy('a', available(2))], undefined, '2026-02-01T00:00:00Z')!;
    assert.equal(statusDiffers(a, b), false);
    assert.equal(aggregateStatus('ConfigMap', 1, [], undefined, 'T'), undefined);
  });
});
