// DEBUG=1 stack traces in the sources' terms: a bundle's frames ("kubectl-federation.cjs:1:48213")
// mapped through the source map that `make build` writes beside it. Loaded only to print a bug.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

const maps = new Map<string, SourceMap | undefined>();

function mapFor(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    const path = `${file}.map`;
    maps.set(file, existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]) : undefined);
  }
  return maps.get(file);
}

/** The stack with every frame of a mapped bundle replaced by its source file, line and column. */
export function sourceStack(stack: string): string {
  return stack.replace(/(\(|at )([^()\s]+\.cjs):(\d+):(\d+)/g, (whole, lead: string, file: string, line: string, column: string) => {
    const entry = mapFor(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !('originalSource' in entry) || !entry.originalSource) return whole;
    const source = entry.originalSource.replace(/^(\.\.\/)+/, '');
    return `${lead}${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}
