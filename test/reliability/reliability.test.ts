// The reduced `make reliability` that `make test` (and so CI) runs: every section, 3 kills per
// command and 4 inits at once instead of 20 and 10. Nothing may be lost or leaked; the full run's
// table is in the README. Planes of its own: the bad-input cases compare the host's namespaces
// before and after.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { badInput, concurrentJoins, concurrentWrites, killDeinit, killInit, killJoinUnjoin, secretScan, wireFaults } from './harness.ts';
import { backupReliability } from './backup.ts';
import { reducedReport } from './reduced.ts';

const { options, check } = reducedReport(['host', 'federation', 'member-1'], 3, 4);

test('kill init at random moments, run again: it converges', async () => check(await killInit(options())));
test('kill join and unjoin at random moments, run again: one identity or none', async () => {
  for (const row of await killJoinUnjoin(options())) check(row);
});
test('kill deinit at random moments, run again: nothing left', async () => check(await killDeinit(options())));
test('faults on the wire: retried or one line, and a clean re-run converges', async () => check(await wireFaults(options())));
test('bad input across every command: one line, nothing changed', async () => {
  const row = await badInput(options());
  assert.ok(row.cases >= 60, `${row.cases} cases`);
  check(row);
});
test('inits at once on one kubeconfig, joins at once into one federation: nothing lost', async () => {
  check(await concurrentWrites(options()));
  check(await concurrentJoins(options()));
});
test('backup under writes is one moment; backup and restore killed at random, run again: they converge', async () => {
  for (const row of await backupReliability(options())) check(row);
});
test('no secret in anything printed', async () => check(await secretScan(options())));
