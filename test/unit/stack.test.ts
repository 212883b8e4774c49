// DEBUG=1 stack traces: a bundle's frames come back as the sources' files, lines and columns.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { sourceStack } from '../../shared/cli/stack.ts';

test('frames of a bundle with its map beside it are mapped to the sources', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'boom.ts'), "export function boom(): never {\n  throw new Error('boom');\n}\nboom();\n");
  // As hack/bundle.ts builds: whitespace minified onto one line, the map linked beside it.
  await build({ entryPoints: [join(dir, 'src', 'boom.ts')], outfile: join(dir, 'dist', 'boom.cjs'), bundle: true, platform: 'node', format: 'cjs', minifyWhitespace: true, sourcemap: 'linked', logLevel: 'silent' });
  const run = spawnSync(process.execPath, [join(dir, 'dist', 'boom.cjs')], { encoding: 'utf8' });
  assert.match(run.stderr, /boom\.cjs:1:\d+/);
  const mapped = sourceStack(run.stderr);
  assert.match(mapped, /src\/boom\.ts:2:\d+/);
  assert.doesNotMatch(mapped.split('\n').find((l) => l.includes('at boom')) ?? '', /boom\.cjs/);
});
