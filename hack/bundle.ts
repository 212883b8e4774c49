// Bundles each executable into one CommonJS file under dist/ (CommonJS because Node's single
// executable applications run CommonJS only). Heavy modules stay behind dynamic imports, which
// esbuild turns into lazily evaluated wrappers, so `--help` does not pay for them.
import { existsSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = (await import('../package.json', { with: { type: 'json' } })).default;

export const entries: Record<string, string> = {
  'kubectl-federation': 'plugins/federation/main.ts',
  'kubectl-federation-init': 'plugins/init/main.ts',
  'kubectl-federation-join': 'plugins/join/main.ts',
  'kubectl-federation-unjoin': 'plugins/unjoin/main.ts',
  'controller-manager': 'controller-manager/main.ts',
};

mkdirSync('dist', { recursive: true });
for (const [name, entry] of Object.entries(entries)) {
  if (!existsSync(entry)) continue;
  await build({
    entryPoints: [entry],
    outfile: `dist/${name}.cjs`,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    define: { __VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
}
