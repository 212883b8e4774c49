// `kubectl federation init` against a real local control plane: the test plays the cloud load
// balancer and, until the local pod runner exists, the kubelet that runs the API server's pod.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import {
  ApiextensionsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import { CONTEXT_EXTENSION, ETCD_VERSION, KUBERNETES_VERSION, NODE_VERSION } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { runCli, startCli } from '../support/cli.ts';
import { kubectl } from '../support/kubectl.ts';
import { failureStatus, kubeConfigFor } from '../support/kube.ts';
import { type Planes, testPlanes } from '../support/localcluster.ts';
import { playLoadBalancer, playPod, podIP, type StandInPod } from '../support/stand-ins.ts';
import { readCluster } from '../support/federation.ts';
import { census, privateKubeconfig, uniqueFederation } from './helpers.ts';

let planes: Planes;
let host: KubeConfig;
const cleanups: (() => unknown)[] = [];

before(async () => {
  planes = await testPlanes(['host']);
  host = kubeConfigFor(planes.kubeconfig, 'host');
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await planes.stop();
});

const secretMaterial = /PRIVATE KEY|BEGIN CERTIFICATE|LS0tLS1CRUdJTi/;

async function namespaceExists(namespace: string): Promise<boolean> {
  const status = await failureStatus(() => host.makeApiClient(CoreV1Api).readNamespace({ name: namespace })).catch(() => 200);
  return status !== 404;
}

/** Starts the stand-ins for the load balancer and the API server pod of a federation. */
function playCluster(namespace: string): { ip: string; ready: Promise<StandInPod> } {
  const ip = podIP();
  const ready = (async () => {
    const lb = await playLoadBalancer(host, namespace, 'apiserver', ip);
    cleanups.push(() => new Promise((r) => lb.close(r)));
    const pod = await playPod(host, namespace, 'apiserver', ip);
    cleanups.push(() => pod.stop());
    return pod;
  })();
  ready.catch(() => undefined);
  return { ip, ready };
}

describe('init --dry-run', () => {
  test('prints every object in order, redacted, and creates nothing', async () => {
    const { name, namespace } = uniqueFederation();
    const kubeconfig = privateKubeconfig(planes);
    const before = readFileSync(kubeconfig);
    const result = await runCli(['init', name, '--host-cluster-context=host', `--federation-system-namespace=${namespace}`, '--dry-run', '-o', 'json', '--kubeconfig', kubeconfig]);
    assert.equal(result.code, 0, result.stderr);
    const list = JSON.parse(result.stdout) as { kind: string; items: { kind: string; metadata: { name: string; namespace?: string } }[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(
      list.items.map((o) => `${o.kind}/${o.metadata.name}`),
      [
        `Namespace/${namespace}`,
        'Service/apiserver',
        'Secret/controller-manager-kubeconfig',
        'PersistentVolumeClaim/apiserver-etcd-claim',
        'ServiceAccount/controller-manager',
        'ConfigMap/controller-manager-code',
        'Deployment/controller-manager',
        'Secret/apiserver-credentials',
        'Deployment/apiserver',
        'CustomResourceDefinition/clusters.core.federation.kubectl-federation.io',
        'ClusterRoleBinding/kubectl-federation:cluster-admins',
        'CustomResourceDefinition/propagations.core.federation.kubectl-federation.io',
        'CustomResourceDefinition/overrides.core.federation.kubectl-federation.io',
        'CustomResourceDefinition/clusteroverrides.core.federation.kubectl-federation.io',
        'ClusterRole/kubectl-federation:controller-manager',
        'ClusterRoleBinding/kubectl-federation:controller-manager',
        `Namespace/${namespace}`,
        'ValidatingAdmissionPolicy/kubectl-federation-placement',
        'ValidatingAdmissionPolicyBinding/kubectl-federation-placement',
        'ValidatingAdmissionPolicy/kubectl-federation-clusters',
        'ValidatingAdmissionPolicyBinding/kubectl-federation-clusters',
        'ClusterRole/kubectl-federation:cluster-labeler',
        'ClusterRoleBinding/kubectl-federation:cluster-labeler',
        'ClusterRole/kubectl-federation:aggregate-to-edit',
        'ClusterRole/kubectl-federation:aggregate-to-view',
      ],
    );
    assert.doesNotMatch(result.stdout + result.stderr, secretMaterial);
    assert.equal(await namespaceExists(namespace), false);
    assert.deepEqual(readFileSync(kubeconfig), before, 'the kubeconfig is untouched');

    const yaml = await runCli(['init', name, '--host-cluster-context=host', '--dry-run', '--kubeconfig', kubeconfig]);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.match(yaml.stdout, /^apiVersion: v1\nkind: Namespace\n/);
    assert.equal(yaml.stdout.split('\n---\n').length, 25);
    assert.doesNotMatch(yaml.stdout, secretMaterial);
    // kubectl's spelling, --dry-run=client, is the same dry run (keys and certificates differ per run).
    const client = await runCli(['init', name, '--host-cluster-context=host', '--dry-run=client', '--kubeconfig', kubeconfig]);
    assert.equal(client.code, 0, client.stderr);
    const shape = (text: string) => text.replace(/^(\s*[\w./-]+: )(.{40,}|[0-9a-f]{16})$/gm, '$1<data>').replace(/\d{4}-\d\d-\d\dT[\d:]+Z/g, '<time>');
    assert.equal(shape(client.stdout), shape(yaml.stdout));
  });
});

describe('init against a real host cluster', () => {
  const fed = uniqueFederation();
  const kubeconfig = () => kubeconfigPath;
  let kubeconfigPath = '';
  let ip = '';
  const args = () => ['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', kubeconfig(), '--wait-timeout=2m'];

  test('deploys the control plane, waits for it, and writes a working kubeconfig context', async () => {
    kubeconfigPath = privateKubeconfig(planes);
    const original = Kubeconfig.load(kubeconfigPath);
    const played = playCluster(fed.namespace);
    ip = played.ip;
    const result = await runCli(args());
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await played.ready;
    assert.match(result.stdout, /Creating a namespace .* done/);
    assert.match(result.stdout, new RegExp(`Federation API server is running at: https://${ip.replaceAll('.', '\\.')}`));
    assert.match(result.stdout, new RegExp(`^Added context "${fed.name}"\\. Switched to context "${fed.name}"\\.$`, 'm'));
    assert.match(result.stdout, /^Next, join a cluster: kubectl federation join CLUSTER$/m);
    assert.match(result.stdout, /^Or, for a cluster the federation cannot reach \(private, behind NAT\): kubectl federation token create CLUSTER prints the command to run against it \(pull mode\)$/m);
    assert.doesNotMatch(result.stdout, /Nothing changed/);
    assert.doesNotMatch(result.stdout + result.stderr, secretMaterial);

    // The kubeconfig: mode 0600, current context switched, where the federation lives recorded,
    // and every other entry as it was.
    assert.equal(statSync(kubeconfigPath).mode & 0o777, 0o600);
    const written = Kubeconfig.load(kubeconfigPath);
    assert.equal(written.currentContext, fed.name);
    assert.deepEqual(written.contextExtension(fed.name, CONTEXT_EXTENSION), { hostContext: 'host', namespace: fed.namespace, federation: fed.name });
    for (const ctx of original.contextNames()) {
      assert.deepEqual(written.resolve(ctx), original.resolve(ctx), `context ${ctx} is unchanged`);
    }

    // The context authenticates to the new API server as the admin, and the Cluster API is there.
    const federation = kubeConfigFor(kubeconfigPath, fed.name);
    const review = await federation
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(review.status?.userInfo?.username, 'admin');
    // Not system:masters (which no RBAC rule can take away): a group bound to cluster-admin.
    assert.deepEqual(review.status?.userInfo?.groups?.filter((g) => g !== 'system:authenticated'), ['kubectl-federation:cluster-admins']);
    const binding = await federation.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: 'kubectl-federation:cluster-admins' });
    assert.equal(binding.roleRef.name, 'cluster-admin');
    assert.deepEqual(binding.subjects?.map((x) => `${x.kind}/${x.name}`), ['Group/kubectl-federation:cluster-admins']);
    const adminCert = Buffer.from(written.user(fed.name)!['client-certificate-data']!, 'base64').toString();
    assert.doesNotMatch(new X509Certificate(adminCert).subject, /system:masters/);

    // The controller manager's service account in the host can read no Secret at all (the CA key
    // and the API server's keys are there), and has no token mounted to try with.
    const sa = `system:serviceaccount:${fed.namespace}:controller-manager`;
    for (const verb of ['get', 'list', 'watch']) {
      const access = await host.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: sa, resourceAttributes: { verb, resource: 'secrets', namespace: fed.namespace, name: verb === 'get' ? 'apiserver-credentials' : undefined } } },
      });
      assert.equal(access.status?.allowed, false, `${sa} may not ${verb} secrets in the host`);
    }
    const account = await host.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: 'controller-manager', namespace: fed.namespace });
    assert.equal(account.automountServiceAccountToken, false);
    const crd = await federation.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'clusters.core.federation.kubectl-federation.io' });
    assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
  });

  test('a second init from the federation context init switched to goes onto that federation\'s host, and says so', async () => {
    assert.ok(kubeconfigPath, 'runs after the first test');
    assert.equal(Kubeconfig.load(kubeconfigPath).currentContext, fed.name);
    const other = uniqueFederation();
    const played = playCluster(other.namespace);
    const result = await runCli(['init', other.name, `--federation-system-namespace=${other.namespace}`, '--kubeconfig', kubeconfigPath, '--switch-context=false', '--wait-timeout=2m']);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await played.ready;
    assert.match(result.stdout, new RegExp(`The current context "${fed.name}" is a federation: using the cluster that hosts it`));
    assert.match(result.stdout, /onto the host cluster of context "host"/);
    assert.ok((await census(host, other.namespace)).has('Deployment/apiserver'), 'deployed onto the host');
    // Naming a federation's context as the host is refused, with the host to name instead.
    const refused = await runCli(['init', 'third', `--host-cluster-context=${fed.name}`, '--kubeconfig', kubeconfigPath]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr.trim(), new RegExp(`^error: context "${fed.name}" is federation "${fed.name}"'s API server, not a cluster to host one: pass --host-cluster-context=host`));
  });

  test('a second run changes nothing: same objects, same data, same credentials', async () => {
    assert.ok(kubeconfigPath, 'runs after the first test');
    const beforeObjects = await census(host, fed.namespace);
    const beforeKubeconfig = readFileSync(kubeconfigPath, 'utf8');
    const result = await runCli(args());
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /credentials\.\.\. done \(reused existing\)/);
    assert.match(result.stdout, new RegExp(`^Nothing changed: federation "${fed.name}" was already as this version of init deploys it\\.$`, 'm'));
    assert.match(result.stdout, new RegExp(`^Updated context "${fed.name}" \\(the current context\\)\\.$`, 'm'), 'not "Added": it existed');
    assert.deepEqual(await census(host, fed.namespace), beforeObjects);
    assert.equal(readFileSync(kubeconfigPath, 'utf8'), beforeKubeconfig);
  });

  test('a re-run says when the endpoint changed, so that other clients of the old address can be told', async () => {
    assert.ok(kubeconfigPath, 'runs after the first test');
    const kc = Kubeconfig.load(kubeconfigPath);
    const entry = kc.cluster(fed.name)!;
    kc.write({ clusters: { [fed.name]: { ...entry, server: 'https://192.0.2.10:443' } } });
    const result = await runCli(args());
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, new RegExp(`Updating kubeconfig\\.\\.\\. done \\(.*; the endpoint changed: was https://192\\.0\\.2\\.10:443, now ${entry.server.replaceAll('.', '\\.')}\\)`));
    assert.equal(Kubeconfig.load(kubeconfigPath).cluster(fed.name)?.server, entry.server);
  });

  test('a re-run from a kubeconfig whose federation entry has proxy-url goes through that proxy, and keeps what the user wrote', async () => {
    assert.ok(kubeconfigPath, 'runs after the first test');
    // An HTTP CONNECT proxy on loopback that counts the tunnels it opens.
    const tunnels: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req, socket, head) => {
      const target = req.url ?? '';
      tunnels.push(target);
      const colon = target.lastIndexOf(':');
      const upstream = connect(Number(target.slice(colon + 1)), target.slice(0, colon), () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const kc = Kubeconfig.load(kubeconfigPath);
      const mine = [{ name: 'example.com/team', extension: { owner: 'platform' } }];
      kc.write({ clusters: { [fed.name]: { ...kc.cluster(fed.name)!, 'proxy-url': url, extensions: mine } } });
      const result = await runCli(args());
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assert.ok(tunnels.length > 0, 'init reached the federation API server through the proxy');
      assert.ok(tunnels.every((t) => t.startsWith(ip)), `only the federation's address was tunnelled: ${tunnels.join(', ')}`);
      const entry = Kubeconfig.load(kubeconfigPath).cluster(fed.name);
      assert.equal(entry?.['proxy-url'], url, 'proxy-url kept');
      assert.deepEqual(entry?.extensions, mine, 'and the extension');
      // kubectl goes through it too, as the user set it up.
      const before = tunnels.length;
      const k = await kubectl({ ...process.env, KUBECONFIG: kubeconfigPath }, `--context=${fed.name}`, 'get', '--raw', '/readyz');
      assert.equal(k.code, 0, k.stderr);
      assert.ok(tunnels.length > before);
    } finally {
      proxy.close();
    }
  });
});

describe('init, killed after each step and run again', () => {
  test('converges each time to one complete federation with one CA', async () => {
    const fed = uniqueFederation();
    const kubeconfig = privateKubeconfig(planes);
    const args = ['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', kubeconfig, '--wait-timeout=2m'];
    const played = playCluster(fed.namespace);
    const caOf = async () => {
      const secret = await host.makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'apiserver-credentials', namespace: fed.namespace });
      return secret.data?.['ca.crt'];
    };
    let ca: string | undefined;
    const titles = [
      /Creating a namespace .*done/,
      /Creating federation control plane service\.\.\. done/,
      /credentials\.\.\. done/,
      /kubeconfig secret\.\.\. done/,
      /claim for etcd .*done/,
      /controller manager deployment\.\.\. done/,
      /Waiting for a load balancer address .*done/,
      /Storing the credentials.*done/,
      /API server deployment\.\.\. done/,
    ];
    for (const [i, title] of titles.entries()) {
      const run = startCli(args);
      await run.waitForOutput(title);
      run.kill('SIGKILL');
      await run.result;
      if (i >= 2) {
        ca ??= await caOf();
        assert.equal(await caOf(), ca, `the CA survives a kill after step ${i + 1}`);
      }
    }
    const final = await runCli(args);
    assert.equal(final.code, 0, `${final.stdout}\n${final.stderr}`);
    await played.ready;
    assert.equal(await caOf(), ca);
    const objects = [...(await census(host, fed.namespace)).keys()].sort();
    assert.deepEqual(objects, [
      'ConfigMap/controller-manager-code',
      'Deployment/apiserver',
      'Deployment/controller-manager',
      'PersistentVolumeClaim/apiserver-etcd-claim',
      'Secret/apiserver-credentials',
      'Secret/controller-manager-kubeconfig',
      'Service/apiserver',
      'ServiceAccount/controller-manager',
    ]);
    const federation = kubeConfigFor(kubeconfig, fed.name);
    await federation.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'clusters.core.federation.kubectl-federation.io' });
  });
});

describe('init --join', () => {
  test('also joins the host cluster as a member', async () => {
    const fed = uniqueFederation();
    const kubeconfig = privateKubeconfig(planes);
    const played = playCluster(fed.namespace);
    const result = await runCli(['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', kubeconfig, '--join']);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await played.ready;
    assert.match(result.stdout, /Joining the host cluster to the federation as host\.\.\. done/);
    // Members joined: no "Next, join a cluster", but where to see them.
    assert.match(result.stdout, new RegExp(`^Its 1 member: kubectl get clusters; its health: kubectl federation status ${fed.name}$`, 'm'));
    assert.doesNotMatch(result.stdout, /Next, join a cluster/);
    const cluster = await readCluster(kubeConfigFor(kubeconfig, fed.name), 'host');
    // As the controller manager, a pod of the host, reaches it: not the kubeconfig's address.
    assert.equal(cluster.spec.serverAddressByClientCIDRs?.[0]?.serverAddress, 'https://kubernetes.default.svc');
  });
});

describe('init --api-server-service-type=NodePort', () => {
  test('serves on the advertised address and the node port', async () => {
    const fed = uniqueFederation();
    const kubeconfig = privateKubeconfig(planes);
    const played = playCluster(fed.namespace);
    const result = await runCli(['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', kubeconfig, '--api-server-service-type=NodePort', `--api-server-advertise-address=${played.ip}`]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await played.ready;
    const server = Kubeconfig.load(kubeconfig).cluster(fed.name)?.server ?? '';
    assert.match(server, new RegExp(`^https://${played.ip.replaceAll('.', '\\.')}:(3\\d{4})$`));
    const review = await kubeConfigFor(kubeconfig, fed.name)
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(review.status?.userInfo?.username, 'admin');
  });
});

describe('init without a load balancer', () => {
  test('stops after --wait-timeout, naming the Service and suggesting NodePort', async () => {
    const fed = uniqueFederation();
    const result = await runCli(['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', privateKubeconfig(planes), '--wait-timeout=3s']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.trim(),
      new RegExp(`^error: timed out after 3s waiting for a load balancer address for Service ${fed.namespace}/apiserver .*run init again with --api-server-service-type=NodePort, or install a load-balancer controller \\(cloud-provider-kind on kind, MetalLB on bare metal\\)$`),
    );
  });
});

describe('init on kind: a LoadBalancer that will never get an address', () => {
  test('is said early in the wait, with the ways out', async () => {
    const core = host.makeApiClient(CoreV1Api);
    // A node as kind registers it (its provider ID); no load-balancer controller runs here.
    await core.createNode({ body: { metadata: { name: 'kind-control-plane' }, spec: { providerID: 'kind://docker/kind/kind-control-plane' } } });
    try {
      const fed = uniqueFederation();
      const result = await runCli(['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', privateKubeconfig(planes), '--wait-timeout=8s']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^warning: the host looks like a kind cluster \(provider ID kind:\/\/\), where a LoadBalancer gets no address unless cloud-provider-kind runs: run init again with --api-server-service-type=NodePort, or install a load-balancer controller/m);
      assert.match(result.stderr, /^error: timed out after 8s waiting for a load balancer address/m);
    } finally {
      await core.deleteNode({ name: 'kind-control-plane' });
    }
  });
});

describe('init: bad input', () => {
  const expectFailure = async (extra: string[], message: RegExp, opts: { kubeconfig?: string; code?: number; name?: string } = {}) => {
    const unique = uniqueFederation();
    const name = opts.name ?? unique.name;
    const namespace = unique.namespace;
    const kubeconfig = opts.kubeconfig ?? privateKubeconfig(planes);
    const before = readFileSync(kubeconfig);
    const result = await runCli(['init', name, `--federation-system-namespace=${namespace}`, '--kubeconfig', kubeconfig, ...extra]);
    assert.equal(result.code, opts.code ?? 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line:\n${result.stderr}`);
    assert.match(lines[0]!, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(await namespaceExists(namespace), false, 'nothing created');
    assert.deepEqual(readFileSync(kubeconfig), before, 'kubeconfig untouched');
  };

  test('an unknown flag is named, not the words around it', async () => {
    await expectFailure(['--host-cluster-context=host', '--bogus-flag'], /^error: unknown flag: --bogus-flag \(see 'kubectl federation init --help'\)$/, { code: 2 });
    await expectFailure(['--host-cluster-context=host', '--bogus=1'], /^error: unknown flag: --bogus \(see 'kubectl federation init --help'\)$/, { code: 2 });
  });

  test('an invalid name', () =>
    expectFailure(['--host-cluster-context=host'], /^error: federation name "Bad_Name" is not a valid name: use a DNS-1123 label/, { code: 2, name: 'Bad_Name' }));

  test('an unknown host context', () =>
    expectFailure(['--host-cluster-context=nowhere'], /^error: context "nowhere" does not exist in .*\(contexts: host, member-1, member-2\): check --host-cluster-context$|^error: context "nowhere" does not exist in .*: check --host-cluster-context$/, { code: 2 }));

  test('an unreachable host API server', () => {
    const kubeconfig = privateKubeconfig(planes);
    const kc = Kubeconfig.load(kubeconfig);
    kc.write({ clusters: { dead: { server: 'https://127.0.0.1:1' } }, contexts: { dead: { cluster: 'dead', user: 'host-admin' } } });
    return expectFailure(['--host-cluster-context=dead', '--request-timeout=5s'], /^error: cannot reach the host cluster \(context "dead"\) at https:\/\/127\.0\.0\.1:1: connection refused/, { kubeconfig });
  });

  test('a user without permission: the refused verbs and resources are named', async () => {
    // A service account allowed to manage namespaces and nothing else.
    const core = host.makeApiClient(CoreV1Api);
    const ns = `limited-${process.pid}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'limited' } } });
    const rbac = host.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: ns }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['*'] }] } });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ns }, subjects: [{ kind: 'ServiceAccount', name: 'limited', namespace: ns }] },
    });
    const token = await core.createNamespacedServiceAccountToken({ name: 'limited', namespace: ns, body: { spec: { expirationSeconds: 3600 } } });
    const kubeconfig = privateKubeconfig(planes);
    Kubeconfig.load(kubeconfig).write({
      users: { limited: { token: token.status!.token } },
      contexts: { limited: { cluster: 'host-cluster', user: 'limited' } },
    });
    await expectFailure(['--host-cluster-context=limited'], /^error: forbidden: context "limited" may not get services, create services, patch services, .*create deployments\.apps.* in namespace .* of the host cluster; ask a cluster administrator/, { kubeconfig });
  });

  test('--api-server-advertise-address without NodePort', () =>
    expectFailure(['--host-cluster-context=host', '--api-server-advertise-address=10.1.1.1'], /^error: --api-server-advertise-address works only with --api-server-service-type=NodePort$/, { code: 2 }));

  test('an advertise address that is not an IP', () =>
    expectFailure(['--host-cluster-context=host', '--api-server-service-type=NodePort', '--api-server-advertise-address=node-1'], /^error: --api-server-advertise-address: "node-1" is not an IP address$/, { code: 2 }));

  test('a bad quantity', () =>
    expectFailure(['--host-cluster-context=host', '--etcd-pv-capacity=ten'], /^error: --etcd-pv-capacity: "ten" is not a storage quantity/, { code: 2 }));

  test('a bad override format', () =>
    expectFailure(['--host-cluster-context=host', '--apiserver-arg-overrides=v=4'], /^error: --apiserver-arg-overrides: "v=4" is not of the form --flag=value/, { code: 2 }));

  test('a namespace that holds another federation', async () => {
    const other = uniqueFederation();
    const kubeconfig = privateKubeconfig(planes);
    // Another federation's namespace, as its init left it.
    await host.makeApiClient(CoreV1Api).createNamespace({
      body: { metadata: { name: other.namespace, labels: { 'federation.kubectl-federation.io/name': 'someone-else' } } },
    });
    const result = await runCli(['init', other.name, '--host-cluster-context=host', `--federation-system-namespace=${other.namespace}`, '--kubeconfig', kubeconfig]);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), new RegExp(`^error: namespace ${other.namespace} already holds federation "someone-else": name that federation, or choose another --federation-system-namespace$`));
    assert.equal((await census(host, other.namespace)).size, 0, 'nothing created in it');
  });
});

describe('init into a namespace you made', () => {
  test('uses it as it is: its labels untouched, nothing of init\'s on it; another federation is then refused by what is in it', async () => {
    const fed = uniqueFederation();
    const kubeconfig = privateKubeconfig(planes);
    const core = host.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: fed.namespace, labels: { team: 'platform' } } } });
    const played = playCluster(fed.namespace);
    const result = await runCli(['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', kubeconfig, '--wait-timeout=2m']);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await played.ready;
    assert.match(result.stdout, /Creating a namespace \S+ for federation system components\.\.\. done \(reused as it is: you made it\)/);
    const ns = await core.readNamespace({ name: fed.namespace });
    assert.deepEqual(ns.metadata?.labels, { team: 'platform', 'kubernetes.io/metadata.name': fed.namespace }, 'no label of init\'s');
    // Another federation into the same namespace: refused, by the federation found in it.
    const other = uniqueFederation();
    const refused = await runCli(['init', other.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', kubeconfig]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr.trim(), new RegExp(`^error: namespace ${fed.namespace} already holds federation "${fed.name}"`));
  });
});

describe('init on clusters as users have them (restricted, air-gapped, clouds, external etcd)', () => {
  type Obj = { kind: string; metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string> };
  const dryRun = async (...flags: string[]) => {
    const { name, namespace } = uniqueFederation();
    const result = await runCli(['init', name, '--host-cluster-context=host', `--federation-system-namespace=${namespace}`, '--dry-run', '-o', 'json', '--kubeconfig', privateKubeconfig(planes), ...flags]);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { items: Obj[] }).items;
  };
  const find = (items: Obj[], kind: string, name: string) => items.find((o) => o.kind === kind && o.metadata.name === name)!;
  type Pod = { securityContext: Record<string, unknown>; nodeSelector: Record<string, string>; automountServiceAccountToken?: boolean; containers: { name: string; image: string; command?: string[]; args?: string[]; resources?: { requests?: Record<string, string>; limits?: Record<string, string> }; securityContext: Record<string, unknown> }[]; volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[] };
  const podOf = (o: Obj) => (o.spec as { template: { spec: Pod } }).template.spec;

  test('every container meets Pod Security "restricted" and has requests; pods run on Linux nodes; the namespace init creates is labelled', async () => {
    const items = await dryRun('--node-selector=disk=ssd');
    const ns = items.find((o) => o.kind === 'Namespace')!;
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    for (const name of ['apiserver', 'controller-manager']) {
      const pod = podOf(find(items, 'Deployment', name));
      assert.equal(pod.securityContext.runAsNonRoot, true, name);
      assert.ok((pod.securityContext.runAsUser as number) > 0, name);
      assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsUser, name);
      assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
      assert.equal(pod.automountServiceAccountToken, false, `${name}: no token it would never use`);
      assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux', disk: 'ssd' });
      for (const c of pod.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
        assert.deepEqual((c.securityContext.capabilities as { drop: string[] }).drop, ['ALL'], c.name);
        assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${c.name} has requests`);
      }
    }
    // Only kube-apiserver adds a capability: the one its image's binary carries.
    const apiserver = podOf(find(items, 'Deployment', 'apiserver')).containers.find((c) => c.name === 'apiserver')!;
    assert.deepEqual((apiserver.securityContext.capabilities as { add: string[] }).add, ['NET_BIND_SERVICE']);
    const overridden = podOf(find(await dryRun('--apiserver-resources=requests.cpu=1,limits.memory=4Gi'), 'Deployment', 'apiserver')).containers.find((c) => c.name === 'apiserver')!;
    assert.deepEqual(overridden.resources, { requests: { cpu: '1', memory: '512Mi' }, limits: { memory: '4Gi' } });
  });

  test('--image-registry mirrors every image; --node-image keeps the shipped code in its ConfigMap', async () => {
    const mirrored = await dryRun('--image-registry=registry.example.com:5000/k8s');
    const images = ['apiserver', 'controller-manager'].flatMap((n) => podOf(find(mirrored, 'Deployment', n)).containers.map((c) => c.image)).sort();
    assert.deepEqual(images, [
      `registry.example.com:5000/k8s/etcd:${ETCD_VERSION}-0`,
      `registry.example.com:5000/k8s/kube-apiserver:${KUBERNETES_VERSION}`,
      `registry.example.com:5000/k8s/node:${NODE_VERSION}-slim`,
    ]);
    const items = await dryRun('--node-image=mirror.example.com/library/node:22-slim');
    assert.ok(find(items, 'ConfigMap', 'controller-manager-code'), 'the code is still shipped');
    const pod = podOf(find(items, 'Deployment', 'controller-manager'));
    assert.equal(pod.containers[0]!.image, 'mirror.example.com/library/node:22-slim');
    assert.ok(pod.containers[0]!.command?.some((a) => a.includes('/opt/federation/controller-manager/')), 'node runs the ConfigMap\'s code');
    assert.ok(pod.volumes.some((v) => v.configMap?.name === 'controller-manager-code'));
  });

  test('LoadBalancer annotations and source ranges go onto the Service', async () => {
    const items = await dryRun('--api-server-service-annotations=networking.gke.io/load-balancer-type=Internal,service.beta.kubernetes.io/aws-load-balancer-scheme=internal', '--api-server-load-balancer-source-ranges=10.0.0.0/8,192.168.0.0/16');
    const svc = find(items, 'Service', 'apiserver');
    assert.deepEqual(svc.metadata.annotations, { 'networking.gke.io/load-balancer-type': 'Internal', 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' });
    assert.deepEqual(svc.spec?.loadBalancerSourceRanges, ['10.0.0.0/8', '192.168.0.0/16']);
  });

  test('external etcd over TLS: the files go into a Secret (redacted here) mounted by the API server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-tls-'));
    const pem = (label: string) => `-----BEGIN ${label}-----\nTUlJ\n-----END ${label}-----\n`;
    writeFileSync(join(dir, 'ca.crt'), pem('CERTIFICATE'));
    writeFileSync(join(dir, 'client.crt'), pem('CERTIFICATE'));
    writeFileSync(join(dir, 'client.key'), pem('PRIVATE KEY'));
    const items = await dryRun('--etcd-servers=https://etcd-0:2379', `--etcd-cafile=${dir}/ca.crt`, `--etcd-certfile=${dir}/client.crt`, `--etcd-keyfile=${dir}/client.key`);
    assert.deepEqual(find(items, 'Secret', 'etcd-client-credentials').data, { 'ca.crt': 'REDACTED', 'client.crt': 'REDACTED', 'client.key': 'REDACTED' });
    const pod = podOf(find(items, 'Deployment', 'apiserver'));
    assert.deepEqual(pod.containers.map((c) => c.name), ['apiserver'], 'no etcd of its own');
    assert.ok(pod.volumes.some((v) => v.secret?.secretName === 'etcd-client-credentials'));
    const command = pod.containers[0]!.command!;
    for (const flag of ['--etcd-cafile=/etc/federation/etcd/ca.crt', '--etcd-certfile=/etc/federation/etcd/client.crt', '--etcd-keyfile=/etc/federation/etcd/client.key']) assert.ok(command.includes(flag), flag);
  });

  test('a pod the host refuses (FailedCreate: a quota) is reported at once while waiting, with what to do', async () => {
    const fed = uniqueFederation();
    const core = host.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: fed.namespace } } });
    await core.createNamespacedResourceQuota({ namespace: fed.namespace, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
    const run = startCli(['init', fed.name, '--host-cluster-context=host', `--federation-system-namespace=${fed.namespace}`, '--kubeconfig', privateKubeconfig(planes), '--api-server-service-type=NodePort', `--api-server-advertise-address=${podIP()}`, '--wait-timeout=2m']);
    let found = false;
    try {
      await run.waitForOutput('Waiting for federation control plane to come up');
      // The first poll finds it (the ReplicaSet's Event is there as soon as the Deployment is).
      const warned = run.waitForOutput(/warning: the host cluster refuses to create the API server's pod: .*exceeded quota.*; raise the namespace's ResourceQuota/).then(() => (found = true));
      await Promise.race([warned, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      // A few more polls, each finding a refusal that names another pod.
      if (found) await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      run.kill();
    }
    const { stdout, stderr } = await run.result;
    assert.ok(found, `no FailedCreate warning within 10s:\n${stdout}\n${stderr}`);
    assert.equal(stderr.match(/refuses to create/g)?.length, 1, `said once, though each try names a new pod:\n${stderr}`);
  });

  test('bad values of the new flags: one line each, nothing created', async () => {
    const cases: [string[], RegExp][] = [
      [['--api-server-load-balancer-source-ranges=10.0.0.0/33'], /--api-server-load-balancer-source-ranges: "10\.0\.0\.0\/33" is not a CIDR/],
      [['--api-server-service-type=NodePort', '--api-server-service-annotations=a=b'], /work only with --api-server-service-type=LoadBalancer/],
      [['--apiserver-resources=requests.gpu=1'], /--apiserver-resources: "requests\.gpu=1" is not of the form requests\.NAME=QUANTITY/],
      [['--etcd-resources=requests.memory=2Gi,limits.memory=1Gi'], /requests\.memory=2Gi is more than limits\.memory=1Gi/],
      [['--etcd-cafile=/nonexistent'], /--etcd-cafile.* are for an external etcd: add --etcd-servers=https:\/\/HOST:2379/],
      [['--etcd-servers=https://etcd:2379', '--etcd-certfile=/a'], /--etcd-certfile and --etcd-keyfile go together/],
      [['--etcd-servers=https://etcd:2379', '--etcd-cafile=/nonexistent/ca.crt'], /--etcd-cafile: cannot read \/nonexistent\/ca\.crt: ENOENT/],
      [['--image-registry=Not A Registry'], /--image-registry: "Not A Registry" is not a registry/],
      [['--node-image=a', '--controller-manager-image=b'], /--node-image and --controller-manager-image exclude each other/],
    ];
    for (const [flags, message] of cases) {
      const { name, namespace } = uniqueFederation();
      const result = await runCli(['init', name, '--host-cluster-context=host', `--federation-system-namespace=${namespace}`, '--kubeconfig', privateKubeconfig(planes), ...flags]);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, message);
      assert.equal(await namespaceExists(namespace), false);
    }
  });
});

describe('the images init deploys', () => {
  test('are the versions the local control planes run', async () => {
    const version = await host.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, KUBERNETES_VERSION);
    const etcdPort = (planes.planes.find((p) => p.name === 'host') as { etcdPort?: number } | undefined)?.etcdPort;
    const etcd = (await (await fetch(`http://127.0.0.1:${etcdPort}/version`)).json()) as { etcdserver: string };
    assert.equal(etcd.etcdserver, ETCD_VERSION);
  });
});
