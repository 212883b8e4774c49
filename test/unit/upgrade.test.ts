// The skew policy of an upgrade by init: one minor version at a time, never back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiserverChange, imageVersion } from '../../shared/init/upgrade.ts';

const image = (tag: string) => `registry.k8s.io/kube-apiserver:${tag}`;

test('versions of image tags', () => {
  assert.deepEqual(imageVersion(image('v1.37.2')), { major: 1, minor: 37, patch: 2, text: 'v1.37.2' });
  assert.equal(imageVersion('example.com/apiserver:latest'), undefined);
});

test('a patch or one minor up is the upgrade; the same is nothing; back or two up is refused', () => {
  assert.equal(apiserverChange(image('v1.37.2'), image('v1.37.2'), 'f'), undefined);
  assert.equal(apiserverChange(image('v1.37.1'), image('v1.37.2'), 'f'), 'kube-apiserver v1.37.1 -> v1.37.2');
  assert.equal(apiserverChange(image('v1.36.9'), image('v1.37.2'), 'f'), 'kube-apiserver v1.36.9 -> v1.37.2');
  assert.throws(() => apiserverChange(image('v1.35.0'), image('v1.37.2'), 'f'), /one minor version at a time: first run init with --image=registry\.k8s\.io\/kube-apiserver:v1\.36\./);
  assert.throws(() => apiserverChange(image('v1.37.3'), image('v1.37.2'), 'f'), /downgrades are not supported/);
  // A mirror or a custom build without a version: applied as asked.
  assert.equal(apiserverChange('mirror.local/apiserver:prod', image('v1.37.2'), 'f'), `kube-apiserver mirror.local/apiserver:prod -> ${image('v1.37.2')}`);
});
