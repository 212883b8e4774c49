// Kubeconfig chains behave as in kubectl: first file wins, new entries go to the first file,
// writes are atomic and 0600, and entries we do not touch keep their text.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { UserError } from '../../shared/errors.ts';
import { Kubeconfig, kubeconfigPaths } from '../../shared/kubeconfig.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));

const fileA = `apiVersion: v1
kind: Config
# a comment the user wrote
current-context: alpha
clusters:
- name: alpha
  cluster:
    server: https://alpha.example:6443
    certificate-authority: ca/alpha.crt
- name: shared
  cluster:
    server: https://from-a.example
users:
- name: alpha
  user:
    token: secret-a
contexts:
- name: alpha
  context:
    cluster: alpha
    namespace: apps
    user: alpha
- name: shared
  context:
    cluster: shared
    user: alpha
`;

const fileB = `apiVersion: v1
kind: Config
current-context: beta
clusters:
- name: shared
  cluster:
    server: https://from-b.example
- name: beta
  cluster:
    server: https://beta.example
users:
- name: beta
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
contexts:
- name: beta
  context:
    cluster: beta
    user: beta
`;

function chain() {
  const d = dir();
  const a = join(d, 'a.yaml');
  const b = join(d, 'b.yaml');
  writeFileSync(a, fileA, { mode: 0o644 });
  writeFileSync(b, fileB);
  return { d, a, b, env: { KUBECONFIG: `${a}:${b}` } };
}

describe('kubeconfig', () => {
  test('paths: --kubeconfig, else KUBECONFIG (deduplicated), else ~/.kube/config', () => {
    assert.deepEqual(kubeconfigPaths('/x/config', { KUBECONFIG: '/a:/b' }), ['/x/config']);
    assert.deepEqual(kubeconfigPaths(undefined, { KUBECONFIG: '/a::/b:/a' }), ['/a', '/b']);
    assert.match(kubeconfigPaths(undefined, {})[0]!, /\.kube\/config$/);
  });

  test('merging: the first file wins for entries and current-context; paths resolve per file', () => {
    const { d, env } = chain();
    const kc = Kubeconfig.load(undefined, env);
    assert.equal(kc.currentContext, 'alpha');
    assert.equal(kc.cluster('shared')?.server, 'https://from-a.example');
    assert.equal(kc.cluster('beta')?.server, 'https://beta.example');
    assert.equal(kc.cluster('alpha')?.['certificate-authority'], join(d, 'ca/alpha.crt'));
    assert.deepEqual(kc.contextNames().sort(), ['alpha', 'beta', 'shared']);
    const beta = kc.resolve('beta');
    assert.equal(beta.user['client-key-data'], 'a2V5');
  });

  test('unknown contexts name the known ones and the flag to fix', () => {
    const { env } = chain();
    const kc = Kubeconfig.load(undefined, env);
    assert.throws(() => kc.resolve('gamma', '--host-cluster-context'), /context "gamma" does not exist in KUBECONFIG .* \(contexts: alpha, shared, beta\): check --host-cluster-context/);
  });

  test('writing: new entries and current-context go to the first file; others keep their text', () => {
    const { a, b, env } = chain();
    const kc = Kubeconfig.load(undefined, env);
    const written = kc.write({
      clusters: { fed: { server: 'https://fed.example', 'certificate-authority-data': 'Q0E=' } },
      users: { fed: { 'client-certificate-data': 'Yw==', 'client-key-data': 'aw==' } },
      contexts: { fed: { cluster: 'fed', user: 'fed', extensions: [{ name: 'x.example', extension: { hostContext: 'alpha' } }] } },
      currentContext: 'fed',
    });
    assert.deepEqual(written, [a]);
    assert.equal(readFileSync(b, 'utf8'), fileB, 'the second file is untouched');
    const text = readFileSync(a, 'utf8');
    // Every line the user wrote is still there, comment included, in the same order.
    const original = fileA.split('\n').filter((l) => !l.startsWith('current-context'));
    let at = 0;
    for (const line of text.split('\n')) if (line === original[at]) at += 1;
    assert.equal(at, original.length, 'all original lines kept in order');
    // A rewritten file keeps its mode, as kubectl leaves it (a new one is made 0600).
    assert.equal(statSync(a).mode & 0o777, 0o644);
    const parsed = parse(text) as { 'current-context': string; contexts: { name: string; context: unknown }[] };
    assert.equal(parsed['current-context'], 'fed');
    const reloaded = Kubeconfig.load(undefined, env);
    assert.equal(reloaded.currentContext, 'fed');
    assert.deepEqual(reloaded.contextExtension('fed', 'x.example'), { hostContext: 'alpha' });
    assert.equal(reloaded.cluster('shared')?.server, 'https://from-a.example');
  });

  test('writing: an existing entry is replaced where it is defined', () => {
    const { a, b, env } = chain();
    const kc = Kubeconfig.load(undefined, env);
    kc.write({ clusters: { beta: { server: 'https://beta-2.example' } } });
    assert.equal(readFileSync(a, 'utf8'), fileA);
    assert.match(readFileSync(b, 'utf8'), /beta-2\.example/);
    assert.equal(Kubeconfig.load(undefined, env).cluster('beta')?.server, 'https://beta-2.example');
  });

  test('writing creates a missing first file and leaves no temporary files', () => {
    const d = dir();
    const path = join(d, 'sub', 'config');
    const kc = Kubeconfig.load(undefined, { KUBECONFIG: path });
    kc.write({ clusters: { c: { server: 'https://c.example' } }, currentContext: 'c' });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(d, 'sub')), ['config']);
  });

  test('a symlinked kubeconfig stays a symlink', () => {
    const d = dir();
    const real = join(d, 'real');
    writeFileSync(real, fileB);
    symlinkSync(real, join(d, 'link'));
    Kubeconfig.load(join(d, 'link')).write({ currentContext: 'beta' });
    assert.ok(readFileSync(real, 'utf8').includes('current-context: beta'));
    assert.ok(statSync(join(d, 'link')).isFile());
  });

  test('a read-only file is refused, kept as it was, and checkWritable says so before anything', () => {
    const { a, env } = chain();
    chmodSync(a, 0o400);
    const before = readFileSync(a, 'utf8');
    const kc = Kubeconfig.load(undefined, env);
    assert.throws(() => kc.checkWritable(), (e: Error) => e instanceof UserError && /^cannot write kubeconfig .*: it is read-only \(mode 0400\); make it writable \(chmod u\+w /.test(e.message));
    assert.throws(() => kc.write({ currentContext: 'beta' }), /it is read-only/);
    assert.equal(readFileSync(a, 'utf8'), before);
    assert.equal(statSync(a).mode & 0o777, 0o400);
    assert.equal(existsSync(`${a}.lock`), false, 'no lock left behind');
  });

  test('a held kubectl lock (FILE.lock) is waited for: the write goes through once the other writer is done', () => {
    const { a, env } = chain();
    writeFileSync(`${a}.lock`, '');
    // The other writer, a process of its own (this one blocks while it waits).
    spawn('sh', ['-c', `sleep 0.3; rm -f '${a}.lock'`], { stdio: 'ignore' }).unref();
    Kubeconfig.load(undefined, env).write({ currentContext: 'beta' });
    assert.match(readFileSync(a, 'utf8'), /current-context: beta/);
    assert.equal(existsSync(`${a}.lock`), false);
  });

  test('a lock left by a command killed while writing is taken over; kubectl\'s (empty) lock is not', () => {
    const { a, env } = chain();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(`${a}.lock`, `${dead}@${hostname()}`);
    Kubeconfig.load(undefined, env).write({ currentContext: 'beta' });
    assert.match(readFileSync(a, 'utf8'), /current-context: beta/);
    assert.equal(existsSync(`${a}.lock`), false);
  });

  test('invalid YAML is one clear error', () => {
    const d = dir();
    writeFileSync(join(d, 'bad'), 'clusters: [\n');
    assert.throws(() => Kubeconfig.load(join(d, 'bad')), /kubeconfig .*bad is not valid YAML/);
  });
});
