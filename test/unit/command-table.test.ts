// The static command table kubectl-federation answers --help from is the commands' own word for
// themselves: same paths, same descriptions, same order of nothing left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandEntries } from '../../shared/cli/run.ts';
import { federationSpec } from '../../plugins/federation/commands.ts';
import { federationTable } from '../../plugins/federation/table.ts';

test('the quick table equals the commands', () => {
  const fromClasses = commandEntries(federationSpec);
  const key = (e: { path: string[]; description: string }) => `${e.path.join(' ')}: ${e.description.trim()}`;
  assert.deepEqual(federationTable.commands.map(key).sort(), fromClasses.commands.map(key).sort());
  assert.equal(federationTable.binaryName, fromClasses.binaryName);
  assert.equal(federationTable.listsCommands, true);
});
