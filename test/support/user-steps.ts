// A user's steps against a federation and its members, as the tests on local planes take them:
// kubectl that must succeed, a find that may come back empty, waiting for something to be so, and
// applying an object from a file. A failure carries the controller manager's last log lines.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { done, notYet, poll } from '../../shared/wait.ts';
import { kubectl } from './kubectl.ts';

export function userSteps(env: () => NodeJS.ProcessEnv, dir: () => string, controllerLog: () => string | undefined, waitMs: number) {
  const tail = () => (controllerLog() ?? '').split('\n').slice(-30).join('\n');
  const run = async (...args: string[]) => {
    const r = await kubectl(env(), ...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}:\n${r.stdout}\n${r.stderr}\n--- controller:\n${tail()}`);
    return r.stdout;
  };
  const find = async <T>(context: string, ...args: string[]): Promise<T | undefined> => {
    const r = await kubectl(env(), `--context=${context}`, ...args, '-o', 'json');
    return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
  };
  const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = waitMs) =>
    poll(
      async () => {
        const v = await check();
        return v === undefined ? notYet(what) : done(v);
      },
      { what, timeoutMs, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- controller:\n${tail()}`);
    });
  const apply = async (obj: object) => {
    const file = join(dir(), `obj-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(obj));
    await run('apply', '-f', file);
  };
  return { tail, run, find, waitFor, apply };
}
