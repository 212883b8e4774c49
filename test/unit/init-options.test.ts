// init's flags: every bad value is one line that says how to fix it, before any cluster is touched.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../shared/errors.ts';
import { initConfigFromFlags } from '../../shared/init/options.ts';
import { apiserverArgs } from '../../shared/manifests/apiserver.ts';

const base = { hostContext: 'host' };

function rejects(flags: Record<string, unknown>, message: RegExp) {
  assert.throws(
    () => initConfigFromFlags({ ...base, ...flags }),
    (err: unknown) => err instanceof InputError && message.test(err.message) && !err.message.includes('\n'),
  );
}

describe('init options', () => {
  test('defaults follow the design', () => {
    const cfg = initConfigFromFlags(base);
    assert.equal(cfg.name, 'federation');
    assert.equal(cfg.namespace, 'federation-system');
    assert.equal(cfg.serviceType, 'LoadBalancer');
    assert.equal(cfg.etcd.capacity, '10Gi');
    assert.equal(cfg.etcd.persistentStorage, true);
    assert.equal(cfg.waitTimeoutMs, 300_000);
    assert.equal(cfg.switchContext, true);
  });

  test('bad input', () => {
    rejects({ name: 'My_Fed' }, /federation name "My_Fed" is not a valid name: use a DNS-1123 label/);
    rejects({ advertiseAddress: '10.0.0.1' }, /--api-server-advertise-address works only with --api-server-service-type=NodePort/);
    rejects({ serviceType: 'NodePort', advertiseAddress: 'node-1' }, /--api-server-advertise-address: "node-1" is not an IP address/);
    rejects({ etcdPvCapacity: '10GB' }, /--etcd-pv-capacity: "10GB" is not a storage quantity \(use a form like 10Gi/);
    rejects({ apiserverArgOverrides: 'v=4' }, /--apiserver-arg-overrides: "v=4" is not of the form --flag=value/);
    rejects({ controllerManagerArgOverrides: '--v=4,--verbose' }, /--controllermanager-arg-overrides: "--verbose" is not of the form --flag=value/);
    rejects({ basicAuth: true }, /removed basic authentication in 1\.19/);
    rejects({ serviceType: 'ClusterIP' }, /--api-server-service-type: "ClusterIP" is not one of LoadBalancer, NodePort/);
    rejects({ switchContext: 'maybe' }, /--switch-context: "maybe" is not a boolean/);
    rejects({ waitTimeout: 'soon' }, /--wait-timeout: "soon" is not a duration/);
  });

  test('a comma inside a value belongs to that value', () => {
    const cfg = initConfigFromFlags({ ...base, apiserverArgOverrides: '--authorization-mode=RBAC,Node,--v=4' });
    assert.deepEqual(cfg.apiserverArgOverrides, { '--authorization-mode': 'RBAC,Node', '--v': '4' });
  });
});

describe('apiserver args', () => {
  test('overrides replace and append', () => {
    const cfg = initConfigFromFlags({ ...base, apiserverArgOverrides: '--profiling=true,--v=4' });
    const args = apiserverArgs(cfg);
    assert.ok(args.includes('--profiling=true'));
    assert.ok(!args.includes('--profiling=false'));
    assert.equal(args.at(-1), '--v=4');
  });
});
