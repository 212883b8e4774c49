// Where the project's tools live: the pinned Node.js, and the Go binaries built from the official
// Kubernetes modules (`make localcluster`).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const toolsBin = join(repoRoot, '.tools', 'bin');
export const localclusterBin = join(toolsBin, 'localcluster');
export const kubectlBin = join(toolsBin, 'kubectl');
/** helm v3, built from its Go module (`make helm-tool`). */
export const helmBin = join(toolsBin, 'helm');

export function requireTool(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`make localcluster\` first (make test does it for you)`);
  }
  return path;
}
