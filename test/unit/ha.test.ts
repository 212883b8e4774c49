// init --ha as objects: what the flags allow, what the manifests say (members, names, TLS, spread,
// budgets), and the refusal to change a running plane's shape in place.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, UserError } from '../../shared/errors.ts';
import { initConfigFromFlags } from '../../shared/init/options.ts';
import { topologyChange } from '../../shared/init/upgrade.ts';
import { apiserverDeployment } from '../../shared/manifests/apiserver.ts';
import { controllerManagerDeployment } from '../../shared/manifests/controller-manager.ts';
import { etcdArgs, etcdCertificateNames, etcdStatefulSet } from '../../shared/manifests/etcd.ts';

const base = { hostContext: 'host', namespace: 'fed-system' };

test('--ha: two API servers by default, more on request; bad combinations are one line each', () => {
  assert.equal(initConfigFromFlags({ ...base, ha: true }).apiserverReplicas, 2);
  assert.equal(initConfigFromFlags({ ...base, ha: true, apiserverReplicas: '3' }).apiserverReplicas, 3);
  assert.equal(initConfigFromFlags(base).apiserverReplicas, 1);
  const refused = (flags: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => initConfigFromFlags({ ...base, ...flags }), (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes('\n'));
  refused({ apiserverReplicas: '2' }, /--apiserver-replicas above 1 needs --ha/);
  refused({ ha: true, apiserverReplicas: '1' }, /--ha runs at least 2 API servers/);
  refused({ ha: true, apiserverReplicas: 'two' }, /--apiserver-replicas: "two" is not a number/);
  refused({ ha: true, etcdPersistentStorage: 'false' }, /--ha needs --etcd-persistent-storage/);
});

test('etcd: three members that find each other by name, TLS both ways, a volume each, spread, started together', () => {
  const cfg = initConfigFromFlags({ ...base, ha: true });
  const sts = etcdStatefulSet(cfg, 'd');
  assert.equal(sts.spec?.replicas, 3);
  assert.equal(sts.spec?.podManagementPolicy, 'Parallel');
  assert.equal(sts.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '10Gi');
  const args = etcdArgs(cfg);
  assert.ok(args.includes('--initial-cluster=etcd-0=https://etcd-0.etcd.fed-system.svc:2380,etcd-1=https://etcd-1.etcd.fed-system.svc:2380,etcd-2=https://etcd-2.etcd.fed-system.svc:2380'));
  for (const flag of ['--client-cert-auth=true', '--peer-client-cert-auth=true']) assert.ok(args.includes(flag));
  assert.ok(etcdCertificateNames(cfg).includes('etcd-2.etcd.fed-system.svc'));
  const pod = sts.spec.template.spec!;
  assert.equal(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  // The members' Secret items: the etcd CA's key and the federation's are never mounted.
  assert.deepEqual(pod.volumes?.[0]?.secret?.items?.map((i) => i.key), ['etcd-ca.crt', 'etcd-peer.crt', 'etcd-peer.key']);
  assert.equal(pod.securityContext?.runAsNonRoot, true);
});

test('API servers: replicas of kube-apiserver alone, on every etcd member, rolled one at a time; two controller managers', () => {
  const cfg = initConfigFromFlags({ ...base, ha: true, apiserverReplicas: '3' });
  const deployment = apiserverDeployment(cfg, 'd');
  assert.equal(deployment.spec?.replicas, 3);
  assert.deepEqual(deployment.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  const containers = deployment.spec.template.spec!.containers;
  assert.deepEqual(containers.map((c) => c.name), ['apiserver']);
  const command = containers[0]!.command!;
  assert.ok(command.includes('--etcd-servers=https://etcd-0.etcd.fed-system.svc:2379,https://etcd-1.etcd.fed-system.svc:2379,https://etcd-2.etcd.fed-system.svc:2379'));
  assert.ok(command.some((a) => a.startsWith('--etcd-certfile=')));
  assert.ok(command.includes('--shutdown-delay-duration=5s'));
  assert.equal(controllerManagerDeployment(cfg, undefined, 'd').spec?.replicas, 2);
  // Without --ha: one pod with etcd inside, replaced whole.
  const single = apiserverDeployment(initConfigFromFlags(base), 'd');
  assert.deepEqual(single.spec?.template.spec?.containers.map((c) => c.name), ['etcd', 'apiserver']);
  assert.equal(single.spec?.strategy?.type, 'Recreate');
});

test("a running plane's shape is not changed in place: the refusal names the backup, deinit and restore", () => {
  const single = apiserverDeployment(initConfigFromFlags(base), 'd').spec!.template.spec!.containers;
  const ha = apiserverDeployment(initConfigFromFlags({ ...base, ha: true }), 'd').spec!.template.spec!.containers;
  const refused = (containers: typeof single, flags: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => topologyChange(containers, initConfigFromFlags({ ...base, ...flags })), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'));
  refused(single, { ha: true }, /not turn it into a highly available one in place: kubectl federation backup federation -f federation\.backup; kubectl federation deinit federation --keep-members --purge-data; kubectl federation init federation --ha --restore-from federation\.backup/);
  refused(ha, {}, /init without --ha would not keep it so: re-run init with --ha/);
  // The same shape again (an upgrade, more API servers) is fine.
  topologyChange(single, initConfigFromFlags(base));
  topologyChange(ha, initConfigFromFlags({ ...base, ha: true, apiserverReplicas: '3' }));
});
