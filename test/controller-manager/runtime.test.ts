// The controller runtime's parts against a real API server: the reflector lists page by page and
// keys namespaced objects by namespace and name; discovery resolves kinds as kubectl does; the
// label-selector parser agrees with the API server's own matching.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Reflector } from '../../controller-manager/runtime/reflector.ts';
import { discoverResources, findResource } from '../../shared/kube/discovery.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { matches, parseSelector } from '../../shared/propagation/selector.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { type Planes, testPlanes } from '../support/localcluster.ts';

let planes: Planes;
let client: RestClient;
const ns = `runtime-${process.pid}`;

before(async () => {
  planes = await testPlanes(['member-2']);
  client = new RestClient(await credentialsFor(Kubeconfig.load(planes.kubeconfig).resolve('member-2')));
  for (const n of [`${ns}-a`, `${ns}-b`]) {
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } } });
  }
});
after(async () => {
  for (const n of [`${ns}-a`, `${ns}-b`]) await client.request('DELETE', `/api/v1/namespaces/${n}`).catch(() => undefined);
  client.close();
  await planes.stop();
});

describe('reflector', () => {
  test('lists every page, keys by namespace and name, and follows the watch', async () => {
    // The same names in two namespaces, more objects than one page holds.
    for (const n of [`${ns}-a`, `${ns}-b`]) {
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          client.request('POST', `/api/v1/namespaces/${n}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, labels: { runtime: ns } } } }),
        ),
      );
    }
    const seen: string[] = [];
    const stop = new AbortController();
    const reflector = new Reflector<{ metadata: { name: string; namespace?: string } }>(client, '/api/v1/configmaps', (type, obj) => seen.push(`${type} ${obj.metadata.namespace}/${obj.metadata.name}`), {
      labelSelector: `runtime=${ns}`,
      pageSize: 5,
      log: () => undefined,
    });
    const running = reflector.run(stop.signal);
    await reflector.waitForSync(stop.signal);
    assert.equal(reflector.items.size, 24, 'both namespaces, every page');
    assert.ok(reflector.items.has(`${ns}-a/cm-0`) && reflector.items.has(`${ns}-b/cm-0`));
    await client.request('DELETE', `/api/v1/namespaces/${ns}-b/configmaps/cm-0`);
    await poll(async () => (reflector.items.has(`${ns}-b/cm-0`) ? notYet('still cached') : done(true)), { what: 'the delete to arrive', timeoutMs: 10_000, intervalMs: 50 });
    assert.ok(reflector.items.has(`${ns}-a/cm-0`), 'the same name in the other namespace stays');
    assert.ok(seen.includes(`DELETED ${ns}-b/cm-0`));
    stop.abort();
    await running;
  });
});

describe('discovery', () => {
  test('resolves kinds, plurals and groups as kubectl does, with the preferred version', async () => {
    const resources = await discoverResources(client);
    assert.deepEqual(
      ['Deployment', 'deployments.apps', 'ConfigMap', 'HorizontalPodAutoscaler', 'ingresses'].map((w) => {
        const r = findResource(resources, w);
        return r && `${r.group}/${r.version}/${r.plural}`;
      }),
      ['apps/v1/deployments', 'apps/v1/deployments', '/v1/configmaps', 'autoscaling/v2/horizontalpodautoscalers', 'networking.k8s.io/v1/ingresses'],
    );
    assert.equal(findResource(resources, 'Widget.example.com'), undefined);
    assert.equal(findResource(resources, 'Deployment')?.status, true);
  });
});

describe('label selectors', () => {
  test("our parser selects what the API server's labelSelector selects", async () => {
    const labels: Record<string, string>[] = [{ region: 'eu', tier: 'web' }, { region: 'us', tier: 'api' }, { region: 'eu' }, { tier: 'web', canary: 'true' }, {}];
    await Promise.all(
      labels.map((l, i) => client.request('POST', `/api/v1/namespaces/${ns}-a/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `sel-${i}`, labels: { ...l, sel: ns } } } })),
    );
    for (const text of ['region=eu', 'region==eu', 'region!=eu', 'tier in (web,api)', 'tier notin (web)', 'canary', '!canary', 'region=eu,tier in (web)', 'region in (eu),!tier']) {
      const list = await client.get<{ items: { metadata: { name: string } }[] }>(`/api/v1/namespaces/${ns}-a/configmaps`, { query: { labelSelector: `sel=${ns},${text}` } });
      const server = list.items.map((i) => i.metadata.name).sort();
      const ours = labels.map((l, i) => (matches(parseSelector(text), l) ? `sel-${i}` : undefined)).filter(Boolean);
      assert.deepEqual(ours, server, text);
    }
    assert.throws(() => parseSelector('tier in web'), /"tier in web" is not a selector term/);
    assert.throws(() => parseSelector('Bad Key=x'), /is not a selector term|is not a label key/);
  });
});
