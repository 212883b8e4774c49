// `localcluster up` and `down`: bad input is one clear line, and nothing is ever left running.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { done, notYet, poll } from '../../shared/wait.ts';
import { startPlanes } from '../support/localcluster.ts';
import { localclusterBin } from '../support/paths.ts';
import { isAlive, processesWithEnv } from '../support/processes.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'localcluster-test-'));

function up(args: string[]) {
  return spawnSync(localclusterBin, ['up', ...args], { encoding: 'utf8', timeout: 120_000 });
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function assertAllGone(supervisorPid: number, ports: number[]) {
  await poll(
    async () => {
      const left = processesWithEnv('LOCALCLUSTER_PARENT_PID', String(supervisorPid));
      if (isAlive(supervisorPid)) return notYet(`supervisor ${supervisorPid} still runs`);
      return left.length === 0 ? done(true) : notYet(`processes ${left.join(', ')} still run`);
    },
    { what: 'every localcluster process to end', timeoutMs: 20_000, intervalMs: 200 },
  );
  // Closed within a moment of the processes' end. (Another test running at the same time may take
  // a freed port again at once: a port that stays open past the poll is what fails.)
  for (const port of ports) {
    await poll(async () => ((await portRefuses(port)) ? done(true) : notYet(`port ${port} is still open`)), { what: `port ${port} to close`, timeoutMs: 5_000, intervalMs: 100 });
  }
}

function statePorts(dir: string): { pid: number; ports: number[] } {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as {
    pid: number;
    planes: { etcdPort: number; apiserverPort: number; controllerManagerPort: number }[];
  };
  return {
    pid: state.pid,
    ports: state.planes.flatMap((p) => [p.etcdPort, p.apiserverPort, p.controllerManagerPort]),
  };
}

describe('localcluster up: bad input', () => {
  const oneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
    return lines[0]!;
  };

  test('an unknown option', () => {
    const result = up(['--dir', tempDir(), '--bogus', 'host']);
    assert.equal(result.status, 2);
    assert.match(oneLine(result.stderr), /^localcluster up: flag provided but not defined: -bogus \(usage: /);
  });

  test('a name that is not a DNS label', () => {
    const dir = tempDir();
    const result = up(['--dir', dir, 'host', 'Member_1']);
    assert.equal(result.status, 2);
    assert.match(
      oneLine(result.stderr),
      /"Member_1" is not a valid control plane name: use a DNS-1123 label/,
    );
    assert.ok(!existsSync(join(dir, 'host')), 'nothing was started or written');
  });

  test('an unwritable directory', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const result = up(['--dir', join(file, 'sub'), 'host']);
    assert.equal(result.status, 2);
    assert.match(
      oneLine(result.stderr),
      /^localcluster up: cannot create directory .*a-file\/sub: not a directory$/,
    );
  });
});

describe('localcluster lifecycle', () => {
  test('a failed start stops what it started', async () => {
    const dir = tempDir();
    // Too short for kube-apiserver to become ready, long enough for etcd to have started.
    const child = spawn(localclusterBin, ['up', '--dir', dir, '--timeout=1500ms', 'host'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /localcluster up: host: (etcd|kube-apiserver) was not ready in time/);
    assert.ok(existsSync(join(dir, 'host', 'etcd.log')), 'etcd had been started');
    await assertAllGone(child.pid!, []);
  });

  test('SIGTERM to up stops every process and frees every port', async () => {
    const planes = await startPlanes(['solo']);
    const { pid, ports } = statePorts(planes.dir);
    assert.ok(processesWithEnv('LOCALCLUSTER_PARENT_PID', String(pid)).length >= 3);
    await planes.stop();
    await assertAllGone(pid, ports);
  });

  test('down stops the planes that up started', async () => {
    const planes = await startPlanes(['solo']);
    const { pid, ports } = statePorts(planes.dir);
    const result = spawnSync(localclusterBin, ['down', '--dir', planes.dir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /stopped the control planes/);
    await assertAllGone(pid, ports);
    await planes.stop();
  });

  test('the death of the parent stops everything', async () => {
    const dir = tempDir();
    // A shell plays the parent (a test runner, say) and is killed without a chance to clean up.
    const shell = spawn('bash', ['-c', `"${localclusterBin}" up --dir "${dir}" solo; true`], {
      stdio: 'ignore',
    });
    await poll(async () => (existsSync(join(dir, 'state.json')) ? done(true) : notYet('not ready')), {
      what: 'the plane to start',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const { pid, ports } = statePorts(dir);
    process.kill(shell.pid!, 'SIGKILL');
    await assertAllGone(pid, ports);
  });
});
