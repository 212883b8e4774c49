// Rendering Overrides: the pure part (which rules apply to which member, in what order, and what a
// rule that cannot render says). test/propagation shows them on real members with pods running.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { type Override, OverrideError, render, splitImage } from '../../shared/propagation/overrides.ts';

const deployment = (): FederatedObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    template: {
      spec: {
        initContainers: [{ name: 'setup', image: 'busybox:1.36' }],
        containers: [
          { name: 'main', image: 'docker.io/library/nginx:1.27@sha256:aaaa', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
          { name: 'side', image: 'registry.example:5000/team/side:v1' },
        ],
      },
    },
  },
});
const ov = (name: string, rules: NonNullable<Override['spec']>['rules'], selector: NonNullable<Override['spec']>['resourceSelectors'] = [{ kind: 'Deployment' }]): Override => ({
  metadata: { name, namespace: 'shop' },
  spec: { resourceSelectors: selector, rules },
});
const eu = { name: 'eu-1', labels: { region: 'eu' } };
const us = { name: 'us-1', labels: { region: 'us' } };
type Containers = { spec: { template: { spec: { containers: { image: string; env?: { name: string; value: string }[] }[]; initContainers: { image: string }[] } } } };

describe('overrides', () => {
  test('image references split as Docker reads them', () => {
    assert.deepEqual(splitImage('nginx'), { repository: 'nginx' });
    assert.deepEqual(splitImage('localhost/a/b:1'), { registry: 'localhost', repository: 'a/b', tag: '1' });
    assert.deepEqual(splitImage('registry.example:5000/team/side:v1'), { registry: 'registry.example:5000', repository: 'team/side', tag: 'v1' });
    assert.deepEqual(splitImage('library/nginx@sha256:ab'), { repository: 'library/nginx', digest: 'sha256:ab' });
  });

  test('rules for the member only; registry, tag and digest; named containers; env set and removed', () => {
    const overrides = [ov('a', [{ clusterSelector: 'region=eu', image: { registry: 'mirror.eu' }, env: { containers: ['main'], set: { R: 'eu' }, remove: ['A'] } }, { clusterSelector: 'region=us', image: { tag: 'v9' } }])];
    const atEu = render(deployment(), overrides, eu);
    const c = (atEu.copy as unknown as Containers).spec.template.spec;
    assert.deepEqual(c.containers.map((x) => x.image), ['mirror.eu/library/nginx:1.27@sha256:aaaa', 'mirror.eu/team/side:v1']);
    assert.equal(c.initContainers[0]!.image, 'mirror.eu/busybox:1.36', 'init containers too');
    assert.deepEqual(c.containers[0]!.env, [{ name: 'B', value: '2' }, { name: 'R', value: 'eu' }]);
    assert.deepEqual(atEu.applied, ['a']);
    const atUs = (render(deployment(), overrides, us).copy as unknown as Containers).spec.template.spec;
    assert.deepEqual(atUs.containers.map((x) => x.image), ['docker.io/library/nginx:v9', 'registry.example:5000/team/side:v9'], 'a tag drops the digest');
    assert.deepEqual(render(deployment(), overrides, { name: 'ap-1', labels: {} }).applied, [], 'no rule for this member');
  });

  test('Overrides by name, rules in order: the later wins; replicas and labels; the original is untouched', () => {
    const original = deployment();
    const { copy, applied } = render(original, [ov('b', [{ replicas: 5, labels: { set: { tier: 'b' } } }]), ov('a', [{ replicas: 1 }, { replicas: 3, labels: { set: { tier: 'a' }, remove: ['app'] } }])], eu);
    assert.deepEqual(applied, ['a', 'b']);
    assert.equal(copy.spec?.replicas, 5);
    assert.deepEqual(copy.metadata.labels, { tier: 'b' });
    assert.equal(original.spec?.replicas, 2);
  });

  test('a JSON patch; what cannot render throws naming the Override and the rule', () => {
    const patched = render(deployment(), [ov('p', [{ jsonPatch: [{ op: 'add', path: '/metadata/annotations', value: { x: 'y' } }] }])], eu).copy;
    assert.deepEqual(patched.metadata.annotations, { x: 'y' });
    assert.throws(() => render(deployment(), [ov('p', [{ labels: { set: {} } }, { jsonPatch: [{ op: 'replace', path: '/spec/nothing/here', value: 1 }] }])], eu), (err: unknown) => err instanceof OverrideError && /^Override p, rule 2: its JSON patch does not apply to Deployment web/.test(err.message));
    const cm: FederatedObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' } };
    assert.throws(() => render(cm, [ov('i', [{ image: { tag: 'v2' } }], [{ kind: 'ConfigMap' }])], eu), /Override i, rule 1: ConfigMap c has no containers/);
    assert.throws(() => render(deployment(), [ov('n', [{ env: { containers: ['nope'], set: { A: '1' } } }])], eu), /has no container "nope" \(it has: setup, main, side\)/);
    assert.throws(() => render(deployment(), [ov('s', [{ clusterSelector: 'region in eu', replicas: 1 }])], eu), /Override s, rule 1: .*region in eu/);
  });

  test('selection: kind, name, object labels, and the namespace', () => {
    const sel = (s: NonNullable<Override['spec']>['resourceSelectors']) => render(deployment(), [ov('x', [{ replicas: 9 }], s)], eu).applied.length === 1;
    assert.equal(sel([{ kind: 'Deployment', name: 'web' }]), true);
    assert.equal(sel([{ kind: 'Deployment', name: 'api' }]), false);
    assert.equal(sel([{ kind: 'Deployment', selector: 'app=web' }]), true);
    assert.equal(sel([{ kind: 'StatefulSet' }]), false);
    assert.equal(render(deployment(), [{ ...ov('x', [{ replicas: 9 }]), metadata: { name: 'x', namespace: 'other' } }], eu).applied.length, 0);
  });
});

describe('drift modes', () => {
  test('the mode from the object, else its namespace; member-owned paths; drifted paths', async () => {
    const { driftMode, driftedPaths, memberOwnedPaths, withMemberOwned } = await import('../../shared/propagation/drift.ts');
    const { ANNOTATIONS } = await import('../../shared/propagation/annotations.ts');
    assert.equal(driftMode({}, {}), 'Repair');
    assert.equal(driftMode({}, { [ANNOTATIONS.drift]: 'Report' }), 'Report');
    assert.equal(driftMode({ [ANNOTATIONS.drift]: 'Repair' }, { [ANNOTATIONS.drift]: 'Report' }), 'Repair');
    assert.throws(() => driftMode({ [ANNOTATIONS.drift]: 'report' }, {}), /"report" is neither Repair nor Report/);
    assert.deepEqual(memberOwnedPaths({ [ANNOTATIONS.memberOwned]: '/spec/replicas, /data/a~1b' }), ['/spec/replicas', '/data/a~1b']);
    assert.throws(() => memberOwnedPaths({ [ANNOTATIONS.memberOwned]: 'spec.replicas' }), /"spec\.replicas" is not a JSON pointer/);
    const want: FederatedObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: 'fed' } };
    const got: FederatedObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '2', b: 'member', extra: 'x' } };
    assert.deepEqual(withMemberOwned(want, got, ['/data/b', '/data/missing']).data, { a: '1', b: 'member' });
    assert.deepEqual(withMemberOwned(want, undefined, ['/data/b']).data, { a: '1', b: 'fed' }, 'set at creation');
    assert.deepEqual(driftedPaths(want, got), ['/data/a', '/data/b']);
  });
});
