// What --dry-run and -o print: YAML as kubectl writes it, secrets redacted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatObjects, formatReport } from '../../shared/print.ts';

test('an object used twice is written twice: no YAML anchors or aliases, as kubectl never prints them', () => {
  const labels = { app: 'web', tier: 'front' };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [] } } },
  };
  const text = formatObjects([deployment], 'yaml');
  assert.doesNotMatch(text, /[&*]a\d/);
  assert.equal(text.match(/tier: front/g)?.length, 3);
  const report = formatReport({ a: labels, b: labels }, 'yaml');
  assert.doesNotMatch(report, /[&*]a\d/);
});
