// Pull mode's part of the reduced `make reliability` that `make test` runs: a pull member's agent
// killed at random while applying (3 times), the federation out of its reach and back, forged writes
// against another member. Planes of its own: a federation and a member.
import { test } from 'node:test';
import { secretScan } from './harness.ts';
import { pullReliability } from './pull.ts';
import { reducedReport } from './reduced.ts';

const { options, check } = reducedReport(['host', 'federation', 'member-1'], 3, 0);

test("a pull member's agent killed at random, the federation out of its reach, forged writes refused", async () => {
  for (const row of await pullReliability(options())) check(row);
});
test('no secret in anything printed, the agent and controller logs included', async () => check(await secretScan(options())));
