// The controller manager's bundled code, which init ships in a ConfigMap. The released plugin
// carries it inside itself (hack/bundle.ts injects it, gzipped); run from source, it is the file
// `make build` wrote.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.ts';

declare const __CONTROLLER_BUNDLE_GZ__: string | undefined;

export async function controllerBundle(): Promise<Buffer> {
  if (typeof __CONTROLLER_BUNDLE_GZ__ === 'string') return gunzipSync(Buffer.from(__CONTROLLER_BUNDLE_GZ__, 'base64'));
  // Only source runs get here (a bundle has the code injected); import.meta is theirs.
  const path = join(import.meta.dirname ?? '.', '..', '..', 'dist', 'controller-manager.cjs');
  try {
    return await readFile(path);
  } catch {
    throw new UserError(`${path} is missing: run \`make build\` first`);
  }
}
