// The pod runner's pure rules: how a container's command line is found and expanded, and the
// script that sets up its mounts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setupScript } from '../podrunner/container.ts';
import { expandReferences, ImageError, type ImageMap, localCommand } from '../podrunner/images.ts';

const images: ImageMap = {
  'registry.k8s.io/etcd:3.7.0-0': { programs: { etcd: ['/bin/localcluster', 'etcd'] } },
  'node:22': { programs: { node: ['/opt/node'] }, cmd: ['node'] },
};

test('$(VAR) expands from the environment as the kubelet does', () => {
  const env = { POD_IP: '10.244.0.3', EMPTY: '' };
  assert.equal(expandReferences('--advertise-address=$(POD_IP)', env), '--advertise-address=10.244.0.3');
  assert.equal(expandReferences('$(UNKNOWN) and $(EMPTY)!', env), '$(UNKNOWN) and !');
  assert.equal(expandReferences('$$(POD_IP) costs $$5', env), '$(POD_IP) costs $5');
  assert.equal(expandReferences('$POD_IP', env), '$POD_IP');
});

test("a container's command runs the image's program, unchanged otherwise", () => {
  assert.deepEqual(localCommand(images, 'registry.k8s.io/etcd:3.7.0-0', ['/usr/local/bin/etcd', '--name=a'], ['--data-dir=/d']), [
    '/bin/localcluster',
    'etcd',
    '--name=a',
    '--data-dir=/d',
  ]);
  // No command: the image's own; args replace its CMD.
  assert.deepEqual(localCommand(images, 'node:22', undefined, undefined), ['/opt/node']);
  assert.deepEqual(localCommand(images, 'node:22', [], ['node', '-e', '1']), ['/opt/node', '-e', '1']);
  assert.throws(() => localCommand(images, 'busybox', ['sh'], []), (err: Error) => err instanceof ImageError && /no program for image "busybox"/.test(err.message));
  assert.throws(() => localCommand(images, 'node:22', ['npm', 'start'], []), /has no program "npm" here \(it has: node\)/);
});

test('the mount script binds volumes at their real paths inside private overlays, then drops privileges', () => {
  const dir = mkdtempSync(join(tmpdir(), 'container-'));
  try {
    const script = setupScript({
      dir,
      netnsPath: '/proc/1/ns/net',
      argv: ['/opt/node'],
      env: {},
      mounts: [
        { source: "/data/it's", target: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
        { source: '/data/code', target: '/opt/federation/code', readOnly: false },
      ],
      hosts: '10.96.0.5\tapiserver.ns.svc\n',
      runAsUser: 1000,
      logFile: join(dir, 'log'),
    });
    const lines = script.split('\n');
    assert.equal(lines[0], 'set -e');
    // /var/run is a symlink to /run on this machine: the mount point is made in an overlay of /run.
    assert.ok(lines.includes(`mount -t overlay overlay -o 'lowerdir=/run,upperdir=${dir}/overlay/run/upper,workdir=${dir}/overlay/run/work' '/run'`), script);
    assert.ok(lines.includes(`mount -t overlay overlay -o 'lowerdir=/etc,upperdir=${dir}/overlay/etc/upper,workdir=${dir}/overlay/etc/work' '/etc'`));
    assert.ok(lines.includes("mount --bind '/data/it'\\''s' '/run/secrets/kubernetes.io/serviceaccount'"), script);
    assert.ok(lines.includes("mount -o remount,bind,ro '/run/secrets/kubernetes.io/serviceaccount'"));
    assert.ok(!lines.some((l) => l.includes('remount') && l.includes('/opt/federation/code')));
    assert.equal(readFileSync(join(dir, 'overlay', 'etc', 'upper', 'hosts'), 'utf8'), '10.96.0.5\tapiserver.ns.svc\n');
    assert.equal(lines.at(-1), 'exec setpriv --reuid 1000 --regid 1000 --clear-groups -- setpriv --pdeathsig KILL -- "$@"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
