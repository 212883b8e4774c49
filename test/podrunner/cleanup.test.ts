// Nothing outlives the pod runner, even when the process running it is killed outright: its pods'
// processes get a parent-death signal, their network namespaces go with their last process, and
// their mounts were only ever in their own mount namespaces.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { done, notYet, poll } from '../../shared/wait.ts';
import { podTestsSkip } from '../support/netns.ts';
import { repoRoot } from '../support/paths.ts';

const skip = podTestsSkip();

/** The processes whose network namespace is netns. */
function processesIn(netns: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readlinkSync(`/proc/${d}/ns/net`) === netns;
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('SIGKILL of the process running pods leaves no process, network namespace or mount behind', { skip }, async () => {
  const child = spawn(process.execPath, [join(repoRoot, 'test', 'podrunner', 'fixtures', 'run-a-pod.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const report = await new Promise<{ pid: number; netns: string; pids: number[]; dirs: string[] }>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { pid: number; netns: string; pids: number[]; dirs: string[] });
    });
    void exited.then((code) => reject(new Error(`the fixture exited (${code}): ${err}`)));
  });
  try {
    const inside = processesIn(report.netns);
    // The runner, the plane's components, and the pod: a sandbox and a container, in their own namespaces.
    assert.ok(inside.includes(report.pid));
    assert.equal(report.pids.length, 2, 'one sandbox and one container');
    for (const pid of report.pids) assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), report.netns, 'the pod has a network namespace of its own');
    const container = report.pids.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('setInterval'))!;
    assert.ok(container, 'the container runs its command');
    assert.notEqual(readlinkSync(`/proc/${container}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'the container has a mount namespace of its own');
    // The fixture reports once the container runs; its volume mounts are made as it starts, so
    // under load they may show a moment later.
    await poll(async () => (/ \/etc\/greeting /.test(readFileSync(`/proc/${container}/mountinfo`, 'utf8')) ? done(true) : notYet('no /etc/greeting mount yet')), {
      what: "the container's /etc/greeting mount",
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), /\/etc\/greeting|overlay/);

    process.kill(report.pid, 'SIGKILL');
    await poll(
      async () => {
        const left = processesIn(report.netns).length + report.pids.filter((p) => processesIn(readlinkSyncSafe(p)).length > 0).length;
        return left === 0 ? done(true) : notYet(`${left} processes left`);
      },
      { what: 'every process of the killed runner to end', timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(await exited, 1, 'the outer process reports the failure');
    // Ended: gone, or a zombie that the machine's init has yet to reap (it holds nothing: no
    // memory, no namespace, no mount).
    for (const pid of [report.pid, ...report.pids]) assert.ok(['gone', 'Z'].includes(stateOf(pid)), `process ${pid} is ${stateOf(pid)}`);
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), /\/etc\/greeting|overlay/);
  } finally {
    child.kill('SIGKILL');
    // Files are all a killed run can leave; they are not mounts, and the test removes them.
    for (const dir of report.dirs) rmSync(dir, { recursive: true, force: true });
  }
});

function stateOf(pid: number): string {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 'gone';
  } catch {
    return 'gone';
  }
}

function readlinkSyncSafe(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return 'gone';
  }
}
