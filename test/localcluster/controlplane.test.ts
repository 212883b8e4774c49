// The local control planes are real Kubernetes: real controllers, real authentication and RBAC,
// and each plane independent of the others.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { done, notYet, poll } from '../../shared/wait.ts';
import { failureStatus, kubeConfigFor, statusOf, tokenKubeConfig, uniqueName } from '../support/kube.ts';
import { type Planes, testPlanes } from '../support/localcluster.ts';

let planes: Planes;
let host: KubeConfig;
let member: KubeConfig;

before(async () => {
  planes = await testPlanes(['host', 'member-1']);
  host = kubeConfigFor(planes.kubeconfig, 'host');
  member = kubeConfigFor(planes.kubeconfig, 'member-1');
});
after(() => planes.stop());

async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

describe('local control plane', () => {
  test('a Deployment gets a ReplicaSet from the real controller manager', async () => {
    const namespace = await createNamespace(host, 'deploy');
    const apps = host.makeApiClient(AppsV1Api);
    const deployment = await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] },
          },
        },
      },
    });
    const replicaSet = await poll(
      async () => {
        const list = await apps.listNamespacedReplicaSet({ namespace });
        const owned = list.items.find((rs) =>
          rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid),
        );
        return owned ? done(owned) : notYet(`${list.items.length} ReplicaSets, none owned by the Deployment`);
      },
      { what: 'a ReplicaSet for Deployment web', timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(replicaSet.spec?.replicas, 1);
    assert.equal(replicaSet.metadata?.ownerReferences?.[0]?.kind, 'Deployment');
  });

  test('a service-account token Secret is filled, authenticates, and RBAC limits it', async () => {
    const namespace = await createNamespace(host, 'token');
    const core = host.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'robot' } } });
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'robot-token', annotations: { 'kubernetes.io/service-account.name': 'robot' } },
        type: 'kubernetes.io/service-account-token',
      },
    });
    const token = await poll(
      async () => {
        const secret = await core.readNamespacedSecret({ namespace, name: 'robot-token' });
        const data = secret.data?.token;
        return data ? done(Buffer.from(data, 'base64').toString()) : notYet('data.token is empty');
      },
      { what: 'the token controller to fill robot-token', timeoutMs: 30_000, intervalMs: 200 },
    );

    const asRobot = tokenKubeConfig(host, token);
    const review = await asRobot
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${namespace}:robot`);

    const robotCore = asRobot.makeApiClient(CoreV1Api);
    assert.equal(await failureStatus(() => robotCore.listNamespacedSecret({ namespace })), 403);
    assert.equal(await failureStatus(() => robotCore.listNamespacedConfigMap({ namespace })), 403);

    // Granting one verb on one resource allows exactly that.
    const rbac = host.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'read-configmaps' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'robot-reads-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
        subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace }],
      },
    });
    const configMaps = await poll(async () => done(await robotCore.listNamespacedConfigMap({ namespace })), {
      what: 'the RoleBinding to take effect',
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    assert.ok(Array.isArray(configMaps.items));
    assert.equal(await failureStatus(() => robotCore.listNamespacedSecret({ namespace })), 403);
  });

  test('a deleted namespace is finalized and disappears', async () => {
    const namespace = await createNamespace(host, 'gone');
    const core = host.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'content' } } });
    await core.deleteNamespace({ name: namespace });
    await poll(
      async () => {
        try {
          const ns = await core.readNamespace({ name: namespace });
          return notYet(`namespace is ${ns.status?.phase}`);
        } catch (err) {
          if (statusOf(err) === 404) return done(true);
          throw err;
        }
      },
      { what: `namespace ${namespace} to be deleted`, timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  test('two control planes are independent', async () => {
    const namespace = await createNamespace(host, 'only-in-host');
    await host
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace, body: { metadata: { name: 'here' } } });
    const memberCore = member.makeApiClient(CoreV1Api);
    assert.equal(await failureStatus(() => memberCore.readNamespace({ name: namespace })), 404);
    // Different CAs: the host's credentials are not accepted by the member.
    assert.notEqual(host.getCurrentCluster()?.caData, member.getCurrentCluster()?.caData);
    assert.notEqual(host.getCurrentCluster()?.server, member.getCurrentCluster()?.server);
  });
});
