// The README and docs/ as a newcomer reads them: every link goes somewhere, every anchor is a heading
// of its page, the README stays a front door, and the layout table in docs/development.md names
// every top-level folder and nothing that is not there.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.ts';

const pages = ['README.md', 'CHANGELOG.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

test('every link in the README and docs/ resolves: files exist, anchors are headings of their page', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const file = join(repoRoot, page);
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue; // an outside address: not ours to check here
      checked += 1;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : join(dirname(file), path);
      if (!existsSync(resolved)) {
        broken.push(`${page}: ${target} (no ${relative(repoRoot, resolved)})`);
        continue;
      }
      if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 15, `links checked: ${checked}`);
});

test('the README is a front door of about a page, linking to every page of docs/', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const lines = readme.split('\n').length;
  assert.ok(lines <= 200, `README has ${lines} lines`);
  for (const page of pages.filter((p) => p.startsWith('docs/'))) assert.ok(readme.includes(`(${page})`), `the README links ${page}`);
  // Figures of particular days live in docs/ beside their table, not here.
  assert.doesNotMatch(readme, /\b20\d\d-\d\d-\d\d\b/);
});

test('the layout in docs/development.md matches the tree', () => {
  const text = readFileSync(join(repoRoot, 'docs', 'development.md'), 'utf8');
  const table = text.slice(text.indexOf('## Layout'), text.indexOf('\n## ', text.indexOf('## Layout') + 1));
  const named = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!.replace(/\/$/, ''));
  for (const path of named) assert.ok(existsSync(join(repoRoot, path)), `${path} is in the table but not in the tree`);
  const folders = readdirSync(repoRoot).filter((f) => !f.startsWith('.') && f !== 'node_modules' && f !== 'dist' && statSync(join(repoRoot, f)).isDirectory());
  for (const folder of folders) assert.ok(named.includes(folder), `${folder}/ is in the tree but not in the layout table`);
});
