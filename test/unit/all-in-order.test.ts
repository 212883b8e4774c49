// Checks run at once report the first failure in the order given, not the first to arrive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allInOrder } from '../../shared/errors.ts';

const later = <T>(ms: number, f: () => T) => new Promise((r) => setTimeout(r, ms)).then(f);

test('values in order; of two failures, the first given is said though the second came first', async () => {
  assert.deepEqual(await allInOrder<[number, string]>([later(5, () => 1), Promise.resolve('b')]), [1, 'b']);
  await assert.rejects(
    allInOrder<[never, never]>([later(20, () => { throw new Error('first'); }), later(1, () => { throw new Error('second'); })]),
    /^Error: first$/,
  );
});
