// join and unjoin against real local control planes: one plays the federation API server (the
// Cluster API installed as init installs it), one the host, two are members. The host plane also
// serves as a second federation, to show that two federations never take each other's access.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuthenticationV1Api, CoreV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { CONTEXT_EXTENSION } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { runCli } from '../support/cli.ts';
import { installFederationAPI, kubeconfigFor, type RunningController, readCluster, startController, waitForReady } from '../support/federation.ts';
import { kubeConfigFor, statusOf, tokenKubeConfig } from '../support/kube.ts';
import { type Planes, startPlanes } from '../support/localcluster.ts';
import { kubectlBin } from '../support/paths.ts';
import { done, notYet, poll } from '../../shared/wait.ts';

let planes: Planes;
let kubeconfig: string;
let controller: RunningController;
const kc = (ctx: string) => kubeConfigFor(kubeconfig, ctx);

before(async () => {
  planes = await startPlanes(['federation', 'host', 'member-1', 'member-2']);
  // As init leaves a kubeconfig: federation contexts that record their host and namespace.
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'join-test-')), 'config');
  copyFileSync(planes.kubeconfig, kubeconfig);
  const k = Kubeconfig.load(kubeconfig);
  k.write({
    contexts: {
      federation: { cluster: 'federation-cluster', user: 'federation-admin', extensions: [{ name: CONTEXT_EXTENSION, extension: { hostContext: 'host', namespace: 'federation-system', federation: 'federation' } }] },
      other: { cluster: 'host-cluster', user: 'host-admin', extensions: [{ name: CONTEXT_EXTENSION, extension: { hostContext: 'host', namespace: 'other-system', federation: 'other' } }] },
    },
    currentContext: 'federation',
  });
  await installFederationAPI(planes.kubeconfig, 'federation');
  await installFederationAPI(planes.kubeconfig, 'host');
  const core = kc('host').makeApiClient(CoreV1Api);
  // federation-system exists already: installing the federation API made it.
  await core.createNamespace({ body: { metadata: { name: 'other-system' } } });
  controller = await startController([
    `--kubeconfig=${kubeconfigFor(planes.kubeconfig, 'federation')}`,
    '--federation-namespace=federation-system',
    '--cluster-monitor-period=1s',
    // Tokens renewed every few seconds (the API server's shortest lifetime is 10 minutes): every
    // test here runs while the controller renews, and one watches it happen.
    '--member-token-lifetime=10m',
    '--member-token-renewal=0.01',
    '--leader-elect=false',
    '--healthz-port=0',
  ]);
});
after(async () => {
  await controller?.stop();
  await planes?.stop();
});

const cli = (...args: string[]) => runCli([...args, `--kubeconfig=${kubeconfig}`]);
/**
 * The local planes listen on loopback, which join refuses unless told the address is meant: the
 * controller manager of these tests runs on this machine, where that address works.
 */
const joinCli = (member: string, ...args: string[]) => cli('join', member, `--cluster-server=${kc(member).getCurrentCluster()!.server}`, ...args);

async function memberObjects(member: string, federation = 'federation') {
  const selector = `federation.kubectl-federation.io/name=${federation},federation.kubectl-federation.io/cluster=${member}`;
  const core = kc(member).makeApiClient(CoreV1Api);
  const rbac = kc(member).makeApiClient(RbacAuthorizationV1Api);
  const [sas, roles, bindings] = await Promise.all([
    core.listNamespacedServiceAccount({ namespace: federation === 'other' ? 'other-system' : 'federation-system', labelSelector: selector }).catch(() => ({ items: [] })),
    rbac.listClusterRole({ labelSelector: selector }),
    rbac.listClusterRoleBinding({ labelSelector: selector }),
  ]);
  return { serviceAccounts: sas.items, clusterRoles: roles.items, bindings: bindings.items };
}

const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number) =>
  poll(
    async () => {
      const v = await check();
      return v === undefined ? notYet(what) : done(v);
    },
    { what, timeoutMs, intervalMs: 250 },
  );

/** A member's credentials Secret, which join keeps in the federation (never in the host). */
async function storedSecret(name: string, namespace = 'federation-system') {
  try {
    return await kc('federation').makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

async function clusterExists(fed: KubeConfig, name: string): Promise<boolean> {
  try {
    await readCluster(fed, name);
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

function getClusters(context = 'federation'): string {
  const out = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', context, 'get', 'clusters'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout;
}

describe('join', () => {
  test('member-1: Secret and Cluster in the federation, identity in the member; it becomes Ready', async () => {
    const result = await joinCli('member-1');
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /Cluster member-1 joined federation federation\. See it with: kubectl get clusters$/m, "the current context is the federation: no --context");
    assert.doesNotMatch(result.stdout + result.stderr, /PRIVATE KEY|eyJhbGciOi/);

    const secret = await storedSecret('member-member-1');
    assert.ok(secret, 'the federation has the credentials Secret');
    const inHost = await kc('host').makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'federation-system' });
    assert.deepEqual(inHost.items.filter((x) => x.metadata!.name!.startsWith('member-')), [], 'nothing of the member in the host');
    const token = Buffer.from(secret.data!.token!, 'base64').toString();
    const cluster = await readCluster(kc('federation'), 'member-1');
    const server = kc('member-1').getCurrentCluster()!.server;
    assert.deepEqual(cluster.spec, { mode: 'Push', serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: server }], secretRef: { name: 'member-member-1' } });
    const objects = await memberObjects('member-1');
    assert.equal(objects.serviceAccounts.length, 1);
    assert.equal(objects.clusterRoles.length, 2, 'the cluster-wide role and the workload role bound per namespace');
    assert.equal(objects.bindings.length, 1);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp?: number; iat?: number };
    assert.ok(claims.exp && claims.iat && claims.exp - claims.iat === 7 * 24 * 3600, `an expiring token of a week: ${JSON.stringify(claims)}`);
    const legacy = await kc('member-1').makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'federation-system' });
    assert.deepEqual(legacy.items.filter((x) => x.type === 'kubernetes.io/service-account-token').map((x) => x.metadata?.name), [], 'no non-expiring token Secret');

    // The stored token is the service account's, and the member accepts it.
    const review = await tokenKubeConfig(kc('member-1'), token)
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:federation-system:${objects.serviceAccounts[0]!.metadata!.name}`);

    await waitForReady(kc('federation'), 'member-1', (r) => r?.status === 'True', 15_000);
    assert.match(getClusters(), /^member-1\s+True\s+Push\s+https:\/\/127\.0\.0\.1:\d+\s+/m);
  });

  test('joining again converges and says so', async () => {
    const again = await joinCli('member-1');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /was already joined to federation federation with server https:\/\/127\.0\.0\.1:\d+; everything is in place/);
    const objects = await memberObjects('member-1');
    assert.equal(objects.serviceAccounts.length, 1, 'no duplicates');
  });

  test('joining again after the federation\'s role in the member was edited says it set it again', async () => {
    const roles = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', 'member-1', 'get', 'clusterroles', '-l', 'federation.kubectl-federation.io/cluster=member-1', '-o', 'name'], { encoding: 'utf8' });
    const role = roles.stdout.trim().split('\n').find((r) => r.includes(':federation-'))!;
    assert.ok(role, roles.stdout + roles.stderr);
    const edited = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', 'member-1', 'patch', role, '--type=json', '-p', '[{"op":"remove","path":"/rules/0"}]'], { encoding: 'utf8' });
    assert.equal(edited.status, 0, edited.stderr);
    const again = await joinCli('member-1');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /was already joined .*; repaired: the federation's role in the member \(ClusterRole \S+\) was not what join grants: set it again\./);
    assert.doesNotMatch(again.stdout, /everything is in place/);
    const same = await joinCli('member-1');
    assert.match(same.stdout, /everything is in place/, 'a re-join with nothing to set says so');
  });

  test('the controller manager renews the token before it expires; the member stays Ready', async () => {
    const first = Buffer.from((await storedSecret('member-member-1'))!.data!.token!, 'base64').toString();
    const readySince = (await readCluster(kc('federation'), 'member-1')).status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(readySince?.status, 'True');
    const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    // Renewed twice: the second renewal was made with the first renewed token. join's token lives a
    // week; the controller's, as configured, ten minutes (and a shorter lifetime replaces a longer token soon).
    let renewed = first;
    for (let i = 0; i < 2; i++) {
      const before = renewed;
      renewed = await waitFor(`renewal ${i + 1}`, async () => {
        const now = Buffer.from((await storedSecret('member-member-1'))!.data!.token!, 'base64').toString();
        return now !== before ? now : undefined;
      }, 60_000);
      assert.equal(claims(renewed).exp - claims(renewed).iat, 600, 'the lifetime configured');
      assert.ok(claims(renewed).iat >= claims(before).iat, 'issued later');
    }
    const review = await tokenKubeConfig(kc('member-1'), renewed)
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.match(review.status?.userInfo?.username ?? '', /^system:serviceaccount:federation-system:/);
    const ready = (await readCluster(kc('federation'), 'member-1')).status?.conditions?.find((c) => c.type === 'Ready');
    assert.deepEqual([ready?.status, ready?.lastTransitionTime], ['True', readySince?.lastTransitionTime], 'Ready throughout');
    assert.match(controller.log(), /cluster member-1: its token renewed \(the new one expires at /);
    assert.doesNotMatch(controller.log(), /eyJhbGciOi/, 'no token in the log');
  });

  test("joining again after the member's token was revoked says what it repaired", async () => {
    const objects = await memberObjects('member-1');
    const sa = objects.serviceAccounts[0]!.metadata!.name!;
    // A bound token dies with its service account: deleting the account revokes every token of it.
    await kc('member-1').makeApiClient(CoreV1Api).deleteNamespacedServiceAccount({ name: sa, namespace: 'federation-system' });
    await waitForReady(kc('federation'), 'member-1', (r) => r?.status === 'False', 30_000);
    const again = await joinCli('member-1');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /was already joined .*; repaired: the token the federation held is no longer accepted by cluster member-1 \(expired or revoked\): issued a new one\./);
    const stored = Buffer.from((await storedSecret('member-member-1'))!.data!.token!, 'base64').toString();
    const review = await tokenKubeConfig(kc('member-1'), stored)
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:federation-system:${sa}`);
    await waitForReady(kc('federation'), 'member-1', (r) => r?.status === 'True', 30_000);
  });

  test('joining again moves a member off a non-expiring token Secret of an earlier join, and deletes it', async () => {
    const sa = (await memberObjects('member-1')).serviceAccounts[0]!.metadata!.name!;
    const core = kc('member-1').makeApiClient(CoreV1Api);
    // What joins before expiring tokens made.
    await core.createNamespacedSecret({ namespace: 'federation-system', body: { metadata: { name: `${sa}-token`, annotations: { 'kubernetes.io/service-account.name': sa } }, type: 'kubernetes.io/service-account-token' } });
    const again = await joinCli('member-1');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /repaired: the member's non-expiring token Secret federation-system\/\S+-token is deleted: the federation uses expiring tokens, renewed by its controller manager/);
    await assert.rejects(core.readNamespacedSecret({ name: `${sa}-token`, namespace: 'federation-system' }), (err) => statusOf(err) === 404);
  });

  test('a second federation joining and leaving the same member leaves the first one\'s access intact', async () => {
    const before = await storedSecret('member-member-1');
    const token = Buffer.from(before!.data!.token!, 'base64').toString();
    const joined = await joinCli('member-1', '--context=other');
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /See it with: kubectl --context=other get clusters$/m, 'the context it joined, not the current one');
    assert.equal((await memberObjects('member-1', 'other')).serviceAccounts.length, 1);
    const left = await cli('unjoin', 'member-1', '--context=other');
    assert.equal(left.code, 0, left.stderr);
    assert.equal((await memberObjects('member-1', 'other')).serviceAccounts.length, 0);
    const first = await memberObjects('member-1');
    assert.equal(first.serviceAccounts.length + first.clusterRoles.length + first.bindings.length, 4, 'the first federation\'s objects remain');
    const review = await tokenKubeConfig(kc('member-1'), token)
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.match(review.status?.userInfo?.username ?? '', /^system:serviceaccount:federation-system:/);
    await waitForReady(kc('federation'), 'member-1', (r) => r?.status === 'True', 5000);
  });

  test('--dry-run prints the objects with the token redacted and writes nothing', async () => {
    const result = await joinCli('member-2', '--dry-run', '-o', 'json');
    assert.equal(result.code, 0, result.stderr);
    const list = JSON.parse(result.stdout) as { items: { kind: string; metadata: { name: string }; data?: Record<string, string> }[] };
    assert.deepEqual(
      list.items.map((o) => o.kind),
      ['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ServiceAccount', 'ClusterRole', 'ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding', 'Namespace', 'Secret', 'Cluster'],
    );
    const stored = list.items[10]!;
    assert.deepEqual(stored.data, { 'ca.crt': 'REDACTED', token: 'REDACTED' });
    assert.equal(await clusterExists(kc('federation'), 'member-2'), false);
    assert.equal(await storedSecret('member-member-2'), undefined);
    assert.equal((await memberObjects('member-2')).serviceAccounts.length, 0);
  });
});

describe('join --use-kubeconfig-credentials', () => {
  test("stores the context's own credentials, flattened, and the controller uses them", async () => {
    const result = await joinCli('member-2', '--use-kubeconfig-credentials');
    assert.equal(result.code, 0, result.stderr);
    const secret = await storedSecret('member-member-2');
    const stored = Buffer.from(secret!.data!.kubeconfig!, 'base64').toString();
    assert.match(stored, /client-certificate-data: /);
    assert.equal((await memberObjects('member-2')).serviceAccounts.length, 0, 'no service account made');
    await waitForReady(kc('federation'), 'member-2', (r) => r?.status === 'True', 15_000);
    const left = await cli('unjoin', 'member-2');
    assert.equal(left.code, 0, left.stderr);
  });
});

describe('unjoin', () => {
  test('removes all three kinds of object; kubectl get clusters no longer lists it', async () => {
    const result = await cli('unjoin', 'member-1');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Checking cluster member-1 in federation federation\.\.\. done \(joined\)\nRemoving cluster member-1 from federation federation\.\.\. done\nRemoving the credentials of cluster member-1\.\.\. done \(Secret federation-system\/member-member-1, from the federation API server\)\nCounting what federation federation propagated into cluster member-1\.\.\. done \((?:none there|\d+ objects?, left running)\)\nRemoving federation federation's identity from cluster member-1\.\.\. done \(\d+ objects\)\n/m);
    assert.match(result.stdout, /Successfully removed cluster member-1/);
    assert.equal(await clusterExists(kc('federation'), 'member-1'), false);
    assert.equal(await storedSecret('member-member-1'), undefined);
    const objects = await memberObjects('member-1');
    assert.equal(objects.serviceAccounts.length + objects.clusterRoles.length + objects.bindings.length, 0);
    assert.doesNotMatch(getClusters(), /member-1/);
  });

  test('a member that cannot be reached: warns, and still removes the Cluster and Secret', async () => {
    const joined = await joinCli('member-2');
    assert.equal(joined.code, 0, joined.stderr);
    await planes.control('stop', 'member-2', 'kube-apiserver');
    try {
      const result = await cli('unjoin', 'member-2', '--request-timeout=5s');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /warning: cannot reach cluster member-2 \(context "member-2"\): connection refused; left behind in it: ServiceAccount/);
      // Each step's line is finished, the ones that could not reach the member as skipped.
      assert.match(result.stdout, /^Removing cluster member-2 from federation federation\.\.\. done$/m);
      assert.match(result.stdout, /^Counting what federation federation propagated into cluster member-2\.\.\. skipped \(cannot reach it: connection refused\)$/m);
      assert.doesNotMatch(result.stdout, /Removing federation federation's identity/, 'not tried once the member did not answer');
      assert.equal(await clusterExists(kc('federation'), 'member-2'), false);
      assert.equal(await storedSecret('member-member-2'), undefined);
    } finally {
      await planes.control('start', 'member-2', 'kube-apiserver');
    }
    // Back: the Cluster is gone, but unjoin finds what it left by label, and removes it.
    assert.equal((await memberObjects('member-2')).serviceAccounts.length, 1, 'the identity was left behind');
    const again = await cli('unjoin', 'member-2');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Checking cluster member-2 in federation federation\.\.\. done \(not joined, but an earlier unjoin left some of it behind\)$/m);
    assert.match(again.stdout, /^Removing federation federation's identity from cluster member-2\.\.\. done \(8 objects\)$/m);
    assert.match(again.stdout, /Left namespace federation-system in cluster member-2 .*delete namespace federation-system/);
    const left = await memberObjects('member-2');
    assert.equal(left.serviceAccounts.length + left.clusterRoles.length + left.bindings.length, 0);
  });

  test('an unjoin killed after the Cluster went: run again, it removes the stored credentials and the identity', async () => {
    const joined = await joinCli('member-2');
    assert.equal(joined.code, 0, joined.stderr);
    // Where `make reliability` once killed unjoin: the Cluster deleted, nothing else yet.
    const gone = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', 'federation', 'delete', 'cluster', 'member-2'], { encoding: 'utf8' });
    assert.equal(gone.status, 0, gone.stderr);
    const again = await cli('unjoin', 'member-2');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Removing the credentials of cluster member-2\.\.\. done \(Secret federation-system\/member-member-2, from the federation API server\)$/m);
    assert.equal(await storedSecret('member-member-2'), undefined);
    const left = await memberObjects('member-2');
    assert.equal(left.serviceAccounts.length + left.clusterRoles.length + left.bindings.length, 0);
  });

  test('a cluster that is not joined: exit 1, unless --ignore-not-found', async () => {
    const result = await cli('unjoin', 'member-1');
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), 'error: cluster "member-1" is not joined to federation federation (context "federation"); pass --ignore-not-found to accept that');
    const ignored = await cli('unjoin', 'member-1', '--ignore-not-found');
    assert.equal(ignored.code, 0, ignored.stderr);
  });
});

describe('join: bad input, nothing written', () => {
  async function expectFailure(args: string[], message: RegExp, opts: { code?: number; kubeconfig?: string } = {}) {
    const path = opts.kubeconfig ?? kubeconfig;
    const before = readFileSync(path);
    const result = await runCli([...args, `--kubeconfig=${path}`]);
    assert.equal(result.code, opts.code ?? 1, result.stdout + result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, message);
    assert.deepEqual(readFileSync(path), before);
    const clusters = getClusters();
    assert.doesNotMatch(clusters, /member-2|bad|gke/);
    const secrets = await kc('federation').makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'federation-system' });
    assert.deepEqual(secrets.items.map((s) => s.metadata!.name).filter((n) => n!.startsWith('member-')), []);
  }

  test('an invalid name, from a gke_-style context', () =>
    expectFailure(['join', 'gke_my-project_us-east1_prod'], /^error: "gke_my-project_us-east1_prod" is not a valid cluster name .*: kubectl federation join --cluster-context=gke_my-project_us-east1_prod gke-my-project-us-east1-prod$/, { code: 2 }));

  test('a member whose kubeconfig names a loopback address (kind, minikube): refused, naming --cluster-server', () =>
    expectFailure(['join', 'member-2'], /^error: cluster "member-2" is served at https:\/\/127\.0\.0\.1:\d+ \(context "member-2"\), an address of this machine only: .* Join with --cluster-server=URL, .*kind get kubeconfig --internal --name NAME/));

  test('a kind that changes how a member admits or trusts, in --propagated-kinds', () =>
    expectFailure(['join', 'member-2', '--propagated-kinds=ConfigMap,ValidatingWebhookConfiguration.admissionregistration.k8s.io'], /^error: --propagated-kinds: "ValidatingWebhookConfiguration\.admissionregistration\.k8s\.io" is never propagated \(a ValidatingWebhookConfiguration decides what a member admits\): leave it out$/, { code: 2 }));

  test('a --cluster-server that is not https', () =>
    expectFailure(['join', 'member-2', '--cluster-server=http://10.0.0.5:6443'], /^error: --cluster-server: "http:\/\/10\.0\.0\.5:6443" is not https/, { code: 2 }));

  test('an unknown context', () => expectFailure(['join', 'nowhere'], /^error: context "nowhere" does not exist in .*: name the cluster's context with --cluster-context$/));

  test('a member that cannot be reached', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'join-bad-')), 'config');
    copyFileSync(kubeconfig, path);
    Kubeconfig.load(path).write({ clusters: { dead: { server: 'https://127.0.0.1:1' } }, contexts: { dead: { cluster: 'dead', user: 'member-2-admin' } } });
    return expectFailure(['join', 'dead', '--cluster-server=https://127.0.0.1:1'], /^error: cannot reach the cluster to join \(context "dead"\) at https:\/\/127\.0\.0\.1:1: connection refused$/, { kubeconfig: path });
  });

  test('an exec-plugin context with --use-kubeconfig-credentials', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'join-bad-')), 'config');
    copyFileSync(kubeconfig, path);
    Kubeconfig.load(path).write({
      users: { cloud: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'gke-gcloud-auth-plugin' } } },
      contexts: { cloud: { cluster: 'member-2-cluster', user: 'cloud' } },
    });
    return expectFailure(['join', 'cloud', '--use-kubeconfig-credentials'], /^error: context "cloud" gets its credentials from an exec plugin or auth provider, which cannot run inside the cluster: join without --use-kubeconfig-credentials/, { kubeconfig: path });
  });

  test('a federation context that is no federation names the ones that are (join needs no host)', () =>
    expectFailure(['join', 'member-2', '--context=member-1', `--cluster-server=${kc('member-2').getCurrentCluster()!.server}`], /^error: context "member-1" is not a federation API server .*federation contexts in this kubeconfig: federation, other: pass --context$/));
});

