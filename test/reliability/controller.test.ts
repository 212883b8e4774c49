// The controller manager's part of the reduced `make reliability` that `make test` runs: propagation
// killed at random (3 times while creating, 3 while deleting) and faults on both of its links. Its own
// planes (a federation and a member): it stops the federation's kube-controller-manager while it runs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Planes, startPlanes } from '../support/localcluster.ts';
import { controllerReliability } from './controller.ts';
import { type Options, type Row, secretScan, table } from './harness.ts';

let planes: Planes;
let o: Options;
const rows: Row[] = [];

before(async () => {
  planes = await startPlanes(['federation', 'member-1']);
  o = { planes, kills: 3, concurrentInits: 0, log: (line) => process.stdout.write(`# ${line}\n`) };
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

test('the propagation controller killed at random and restarted; faults on its links to the federation and the member', async () => {
  for (const row of await controllerReliability(o)) check(row);
});
test('no secret in anything printed, the controller log and Events included', async () => check(await secretScan(o)));
