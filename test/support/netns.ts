// Tests that run pods (and `make demo`) work inside a network namespace of their own: the pods'
// bridge, addresses and proxies live there, and all their traffic stays there. The script re-runs
// itself under `unshare --net`; the namespace disappears when its last process ends, so nothing
// is left behind even if the run is killed. Needs root (CI has it).
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { run } from '../podrunner/commands.ts';

/** Names the network namespace this process tree created for itself (its /proc link text). */
export const NETNS_ENV = 'KUBECTL_FEDERATION_TEST_NETNS';
const PARENT_ENV = 'KUBECTL_FEDERATION_NETNS_PARENT';

export const currentNetns = (): string => readlinkSync('/proc/self/ns/net');

/** True inside a network namespace a test run or the demo created for itself. */
export const inOwnNetns = (): boolean => process.env[NETNS_ENV] === currentNetns();

/**
 * node:test's skip option for tests that run pods: they need root and the namespace test/run.ts
 * makes. Under CI=true they never skip (CI is root): there they fail instead.
 */
export const podTestsSkip = (): string | false =>
  !inOwnNetns() && process.env.CI !== 'true' ? 'needs root: run as root through node test/run.ts (make test)' : false;

export function assertOwnNetns(): void {
  if (!inOwnNetns()) {
    throw new Error('refusing to change this network namespace: run through `node test/run.ts` (make test) or `make demo`, which create one of their own');
  }
}

export type NetnsRole = { role: 'parent'; code: number } | { role: 'inside' } | { role: 'unavailable'; reason: string };

/**
 * Puts the rest of this script in a network namespace of its own. The caller, on 'parent', exits
 * with the code; on 'inside' goes on; on 'unavailable' decides itself. fresh: a new namespace
 * even when already inside one (the demo, started from a test, must not share the test's).
 */
export async function ownNetns(fresh: boolean): Promise<NetnsRole> {
  const here = currentNetns();
  const parent = process.env[PARENT_ENV];
  if (parent !== undefined) {
    delete process.env[PARENT_ENV];
    if (parent === here) throw new Error('unshare --net did not give this process a network namespace of its own');
    await run('ip', ['link', 'set', 'lo', 'up']);
    process.env[NETNS_ENV] = here;
    return { role: 'inside' };
  }
  if (!fresh && inOwnNetns()) return { role: 'inside' };
  if (process.getuid?.() !== 0) return { role: 'unavailable', reason: 'running pods needs root (network namespaces, mounts)' };
  const child = spawn('unshare', ['--net', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [PARENT_ENV]: here },
  });
  // Ctrl-C reaches the child from the terminal; a SIGTERM sent to this process is passed on.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGHUP', () => child.kill('SIGHUP'));
  const code = await new Promise<number>((resolve) => {
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    child.once('error', (err) => {
      console.error(`error: cannot create a network namespace with unshare (util-linux): ${err.message}`);
      resolve(1);
    });
  });
  return { role: 'parent', code };
}
