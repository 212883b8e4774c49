// What each test file of the reduced report (the part of `make reliability` that `make test` runs)
// shares: planes of its own for the file, a check that a row lost and leaked nothing, and the
// rows printed as the report's table at the end.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { type Planes, startPlanes } from '../support/localcluster.ts';
import { type Options, type Row, table } from './harness.ts';

export function reducedReport(planeNames: string[], kills: number, concurrentInits: number): { options: () => Options; check: (row: Row) => void } {
  let planes: Planes | undefined;
  let o: Options | undefined;
  const rows: Row[] = [];
  before(async () => {
    planes = await startPlanes(planeNames);
    o = { planes, kills, concurrentInits, log: (line) => process.stdout.write(`# ${line}\n`) };
  });
  after(async () => {
    process.stdout.write(`${table(rows).replace(/^/gm, '# ')}\n`);
    await planes?.stop();
  });
  return {
    options: () => {
      if (!o) throw new Error('the planes are not up');
      return o;
    },
    check: (row) => {
      rows.push(row);
      assert.deepEqual(row.failures, [], row.what);
      assert.equal(row.survived, row.cases);
    },
  };
}
