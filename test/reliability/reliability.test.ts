// The reduced `make reliability` that `make test` (and so CI) runs: every section, 3 kills per
// command and 4 inits at once instead of 20 and 10. Nothing may be lost or leaked; the full run's
// table is in the README.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Planes, startPlanes } from '../support/localcluster.ts';
import { badInput, concurrentJoins, concurrentWrites, killDeinit, killInit, killJoinUnjoin, type Options, type Row, secretScan, table, wireFaults } from './harness.ts';

let planes: Planes;
let o: Options;
const rows: Row[] = [];

before(async () => {
  // Planes of its own: the bad-input cases compare the host's namespaces before and after.
  planes = await startPlanes(['host', 'federation', 'member-1']);
  o = { planes, kills: 3, concurrentInits: 4, log: (line) => process.stdout.write(`# ${line}\n`) };
});
after(async () => {
  process.stdout.write(`${table(rows).replace(/^/gm, '# ')}\n`);
  await planes?.stop();
});

const check = (row: Row) => {
  rows.push(row);
  assert.deepEqual(row.failures, [], row.what);
  assert.equal(row.survived, row.cases);
};

test('kill init at random moments, run again: it converges', async () => check(await killInit(o)));
test('kill join and unjoin at random moments, run again: one identity or none', async () => {
  for (const row of await killJoinUnjoin(o)) check(row);
});
test('kill deinit at random moments, run again: nothing left', async () => check(await killDeinit(o)));
test('faults on the wire: retried or one line, and a clean re-run converges', async () => check(await wireFaults(o)));
test('bad input across every command: one line, nothing changed', async () => {
  const row = await badInput(o);
  assert.ok(row.cases >= 60, `${row.cases} cases`);
  check(row);
});
test('inits at once on one kubeconfig, joins at once into one federation: nothing lost', async () => {
  check(await concurrentWrites(o));
  check(await concurrentJoins(o));
});
test('no secret in anything printed', async () => check(await secretScan(o)));
