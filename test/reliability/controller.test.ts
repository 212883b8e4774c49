// The controller manager's part of the reduced `make reliability` that `make test` runs: propagation
// killed at random (3 times while creating, 3 while deleting), faults on both of its links, killed
// while renewing tokens and during a staged rollout. Planes of its own (a federation, a member, and
// the host as the staged rollout's second member): it stops the federation's kube-controller-manager
// while it runs.
import { test } from 'node:test';
import { controllerReliability, stagedRolloutReliability, tokenReliability } from './controller.ts';
import { secretScan } from './harness.ts';
import { reducedReport } from './reduced.ts';

// The host plane is the staged rollout's second member.
const { options, check } = reducedReport(['federation', 'member-1', 'host'], 3, 0);

test('the propagation controller killed at random and restarted; faults on its links to the federation and the member', async () => {
  for (const row of await controllerReliability(options())) check(row);
});
test('the controller manager killed while renewing member tokens: Ready again, no re-join', async () => check(await tokenReliability(options())));
test('the controller manager killed during a staged rollout: no stage skipped or early, converged', async () => check(await stagedRolloutReliability(options())));
test('no secret in anything printed, the controller log and Events included', async () => check(await secretScan(options())));
