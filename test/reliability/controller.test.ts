// The controller manager's part of the reduced `make reliability` that `make test` runs: propagation
// killed at random (3 times while creating, 3 while deleting) and faults on both of its links. Its own
// planes (a federation and a member): it stops the federation's kube-controller-manager while it runs.
import { test } from 'node:test';
import { controllerReliability, tokenReliability } from './controller.ts';
import { secretScan } from './harness.ts';
import { reducedReport } from './reduced.ts';

const { options, check } = reducedReport(['federation', 'member-1'], 3, 0);

test('the propagation controller killed at random and restarted; faults on its links to the federation and the member', async () => {
  for (const row of await controllerReliability(options())) check(row);
});
test('the controller manager killed while renewing member tokens: Ready again, no re-join', async () => check(await tokenReliability(options())));
test('no secret in anything printed, the controller log and Events included', async () => check(await secretScan(options())));
