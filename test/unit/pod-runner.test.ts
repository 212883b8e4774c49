// The pod runner's pure rules: how a container's command line is found and expanded, the script
// that sets up its mounts, and what a securityContext makes of the process.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setupScript } from '../podrunner/container.ts';
import type { V1Container, V1Pod, V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';
import { expandReferences, ImageError, type ImageMap, localCommand } from '../podrunner/images.ts';
import { processIdentity, SecurityRefusal } from '../podrunner/security.ts';

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
      identity: { uid: 1000, gid: 1000, groups: [2000], noNewPrivs: true, capabilities: ['NET_BIND_SERVICE'] },
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
    assert.equal(
      lines.at(-1),
      'exec setpriv --reuid 1000 --regid 1000 --groups 2000 --bounding-set -all,+net_bind_service --no-new-privs -- setpriv --pdeathsig KILL -- "$@"',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('securityContext: the kubelet refuses runAsNonRoot with a root user; the process gets uid, gid, fsGroup and the bounding set', () => {
  const image = { programs: { 'kube-apiserver': ['/bin/true'] }, user: 0, fileCapabilities: { 'kube-apiserver': ['NET_BIND_SERVICE'] } };
  const pod = (sc: V1PodSecurityContext = {}): V1Pod => ({ metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { containers: [], securityContext: sc } });
  const container = (sc: V1SecurityContext = {}): V1Container => ({ name: 'c', securityContext: sc });
  // The image runs as root: runAsNonRoot without a user is refused, as is an explicit root user.
  assert.throws(() => processIdentity(pod({ runAsNonRoot: true }), container(), image, 'kube-apiserver'), (e: Error) => e instanceof SecurityRefusal && /image will run as root/.test(e.message));
  assert.throws(() => processIdentity(pod({ runAsNonRoot: true, runAsUser: 0 }), container(), image, 'kube-apiserver'), /runAsUser breaks non-root policy/);
  // The container's context overrides the pod's.
  const id = processIdentity(pod({ runAsNonRoot: true, runAsUser: 5, runAsGroup: 6, fsGroup: 7, supplementalGroups: [8] }), container({ runAsUser: 9, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } }), image, '/usr/local/bin/kube-apiserver');
  assert.deepEqual(id, { uid: 9, gid: 6, groups: [7, 8], noNewPrivs: true, capabilities: ['NET_BIND_SERVICE'] });
  // drop: [ALL] alone leaves the binary's file capability outside the bounding set: exec fails.
  const refused = processIdentity(pod({ runAsUser: 5 }), container({ capabilities: { drop: ['ALL'] } }), image, 'kube-apiserver');
  assert.match(refused.execRefusal ?? '', /exec kube-apiserver: operation not permitted/);
  // Nothing asked: root, group 0, the runtime's default capabilities.
  const plain = processIdentity(pod(), container(), image, 'kube-apiserver');
  assert.equal(plain.uid, 0);
  assert.equal(plain.gid, 0);
  assert.ok(plain.capabilities.includes('CHOWN') && plain.capabilities.includes('NET_BIND_SERVICE') && !plain.capabilities.includes('SYS_ADMIN'));
  assert.equal(plain.execRefusal, undefined);
});
