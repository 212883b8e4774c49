// The federation's ClusterRole aggregation (kube-controller-manager's rule, run by our controller
// manager because the federation runs none): which roles feed an aggregate, in what order. The
// integration test (a team's `edit` in test/propagation) checks the API server then authorizes by it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregatedRules } from '../../controller-manager/role-aggregation.ts';

const role = (name: string, labels: Record<string, string>, verbs: string[]) => ({ metadata: { name, labels }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs }] });

test('the rules of every matching role, by name, each once; the aggregate itself and others left out', () => {
  const edit = { metadata: { name: 'edit' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'aggregate-to-edit': 'true' } }, { matchExpressions: [{ key: 'extra', operator: 'Exists' }] }] } };
  const roles = [edit, role('b-source', { 'aggregate-to-edit': 'true' }, ['get']), role('a-source', { 'aggregate-to-edit': 'true' }, ['create']), role('c-extra', { extra: 'x' }, ['get']), role('other', { 'aggregate-to-view': 'true' }, ['list'])];
  assert.deepEqual(
    aggregatedRules(edit, roles).map((r) => r.verbs),
    [['create'], ['get']],
  );
});
