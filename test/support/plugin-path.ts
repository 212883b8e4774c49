// A PATH on which kubectl finds this project's plugin, as it finds any plugin: an executable named
// kubectl-federation. Here it runs the bundle with the project's Node 22.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { pluginPath } from './cli.ts';
import { kubectlBin, requireTool } from './paths.ts';

/** Names, in the returned environment, the directory holding the plugin (for its clean-up). */
export const PLUGIN_BIN = 'KUBECTL_FEDERATION_PLUGIN_BIN';

export function pluginEnv(kubeconfig: string): NodeJS.ProcessEnv {
  const bin = mkdtempSync(join(tmpdir(), 'plugin-bin-'));
  const wrapper = join(bin, 'kubectl-federation');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${requireTool(pluginPath)}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  return {
    ...process.env,
    KUBECONFIG: kubeconfig,
    [PLUGIN_BIN]: bin,
    NO_COLOR: '1',
    // Our kubectl first, then the plugin: exactly what a user's shell would resolve.
    PATH: [dirname(kubectlBin), bin, process.env.PATH ?? ''].join(delimiter),
  };
}
