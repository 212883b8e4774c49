// Pods really run: first the local pod runner's own rules, then init's pods on it (real
// ReplicaSet, EndpointSlice, PV controllers of the host plane; every container a local process in
// its own namespaces), and the seed design's test plan holds through kubectl plugin discovery.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect as netConnect, createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { V1ConfigMap, V1Deployment, V1Pod, V1PodSpec, V1PodStatus, V1Service } from '@kubernetes/client-node';
import { APISERVER_NAME, CONTROLLER_MANAGER_NAME, ETCD_IMAGE, NODE_IMAGE, NODE_VERSION } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { newCertificateAuthority, newSignedCertificate } from '../../shared/pki.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import type { PodWorker } from '../podrunner/pod-worker.ts';
import { kubectl, kubectlJSON } from '../support/kubectl.ts';
import { type LocalNode, startLocalNode, TEST_MIRROR } from '../support/local-node.ts';
import { podTestsSkip } from '../support/netns.ts';
import { PLUGIN_BIN, pluginEnv } from '../support/plugin-path.ts';

// Pods need root and the network namespace test/run.ts makes; CI (root) must run them.
const skip = podTestsSkip();

interface ClusterList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

describe('pods on the local pod runner', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    node = await startLocalNode({ names: ['host', 'member-1', 'member-2'], lifetimeMs: 20 * 60_000 });
    const kubeconfig = join(node.dir, 'kubeconfig');
    copyFileSync(node.planes.kubeconfig, kubeconfig);
    Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
    env = pluginEnv(kubeconfig);
    // Pods need their namespace's default ServiceAccount, which the plane's controller makes.
    await poll(async () => ((await kubectl(env, '--context=host', 'get', 'serviceaccount', 'default')).code === 0 ? done(true) : notYet('no default ServiceAccount yet')), {
      what: 'the default ServiceAccount',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
  });

  after(async () => {
    const pids = node.runner.pids();
    const logs = node.dir;
    await node.stop();
    rmSync(env[PLUGIN_BIN]!, { recursive: true, force: true });
    // Nothing left: every container and sandbox process is gone, and so is the runner's directory.
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is gone`);
    assert.equal(existsSync(logs), false);
  });

  const run = async (...args: string[]) => {
    const r = await kubectl(env, ...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}:\n${r.stdout}\n${r.stderr}\n${runnerTail()}`);
    return r.stdout;
  };
  const runnerTail = () => (existsSync(node.runner.logFile) ? readFileSync(node.runner.logFile, 'utf8').split('\n').slice(-30).join('\n') : '');

  const workers = (namespace: string, component: string): PodWorker[] =>
    node.runner.pods().filter((w) => w.pod.metadata!.namespace === namespace && w.pod.metadata!.labels?.['app.kubernetes.io/component'] === component);

  /** Waits until every Deployment of the namespace is Available and its pods Running and Ready. */
  const waitForRunningPods = (namespace: string) =>
    poll(
      async () => {
        const deployments = await kubectlJSON<{ items: V1Deployment[] }>(env, '--context=host', '-n', namespace, 'get', 'deployments');
        const pods = await kubectlJSON<{ items: V1Pod[] }>(env, '--context=host', '-n', namespace, 'get', 'pods');
        const unavailable = deployments.items.filter((d) => !d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True'));
        if (unavailable.length > 0) return notYet(`Deployment ${unavailable[0]!.metadata!.name} not Available`);
        const notRunning = pods.items.filter((p) => p.status?.phase !== 'Running' || !p.status.containerStatuses?.every((c) => c.ready));
        if (notRunning.length > 0) return notYet(`pod ${notRunning[0]!.metadata!.name} is ${notRunning[0]!.status?.phase}`);
        return done(pods.items);
      },
      { what: `the pods of ${namespace} to run`, timeoutMs: 120_000, intervalMs: 500 },
    );

  const readyClusters = (context: string) =>
    kubectlJSON<ClusterList>(env, `--context=${context}`, 'get', 'clusters').then((list) =>
      Object.fromEntries(list.items.map((c) => [c.metadata.name, c.status?.conditions?.find((x) => x.type === 'Ready')?.status ?? 'Unknown'])),
    );

  const waitForClusters = (context: string, want: Record<string, string>) =>
    poll(
      async () => {
        const got = await readyClusters(context);
        return JSON.stringify(got) === JSON.stringify(want) ? done(got) : notYet(JSON.stringify(got));
      },
      { what: `clusters ${JSON.stringify(want)} in ${context}`, timeoutMs: 90_000, intervalMs: 500 },
    );

  /** Creates objects in the host cluster with kubectl, as a user would from a file. */
  const create = async (...objects: object[]) => {
    const file = join(node.dir, `objects-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    await run('--context=host', 'create', '-f', file);
  };
  const pod = (name: string, command: string[], extra: Partial<V1PodSpec> = {}, labels: Record<string, string> = {}): V1Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'main', image: NODE_IMAGE, command }], ...extra },
  });
  const podStatus = (name: string) => kubectlJSON<V1Pod>(env, '--context=host', 'get', 'pod', name).then((p) => p.status ?? {});
  const waitForPod = <T>(name: string, what: string, check: (status: V1PodStatus) => T | undefined) =>
    poll(
      async () => {
        const status = await podStatus(name);
        const value = check(status);
        return value === undefined ? notYet(JSON.stringify(status.containerStatuses?.[0]?.state ?? status.phase)) : done(value);
      },
      { what: `pod ${name}: ${what}`, timeoutMs: 60_000, intervalMs: 250 },
    );

  test('the runner: restarts with back-off per restartPolicy, ends pods that may not restart, fails unknown images', async () => {
    await create(
      pod('crasher', ['node', '-e', 'process.exit(3)']),
      pod('once-ok', ['node', '-e', 'process.exit(0)'], { restartPolicy: 'Never' }),
      pod('once-fails', ['node', '-e', 'process.exit(3)'], { restartPolicy: 'Never' }),
      { ...pod('no-image', ['server']), spec: { containers: [{ name: 'main', image: 'example.invalid/server:1', command: ['server'] }] } },
    );
    const crasher = await waitForPod('crasher', 'restarted twice', (s) => ((s.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? s : undefined));
    assert.equal(crasher.phase, 'Running');
    assert.equal(crasher.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 3);
    assert.equal(await waitForPod('once-ok', 'done', (s) => (s.phase === 'Succeeded' || s.phase === 'Failed' ? s.phase : undefined)), 'Succeeded');
    const failed = await waitForPod('once-fails', 'done', (s) => (s.phase === 'Succeeded' || s.phase === 'Failed' ? s : undefined));
    assert.equal(failed.phase, 'Failed');
    assert.equal(failed.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
    assert.equal(failed.containerStatuses?.[0]?.restartCount, 0);
    const pulled = await waitForPod('no-image', 'an image error', (s) => s.containerStatuses?.[0]?.state?.waiting);
    assert.equal(pulled.reason, 'ErrImagePull');
    assert.match(pulled.message ?? '', /no program for image "example\.invalid\/server:1"/);
    await run('--context=host', 'delete', 'pod', 'crasher', 'once-ok', 'once-fails', 'no-image', '--wait=false');
  });

  test('the runner: a pod reaches a Service by name; its cluster IP and node port answer on the node', async () => {
    const server = "require('http').createServer((q, r) => r.end('hi from web')).listen(8080)";
    const web = pod('web', ['node', '-e', server], {}, { app: 'web' });
    web.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 };
    await create(web, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await waitForPod('web', 'Ready', (s) => (s.containerStatuses?.[0]?.ready ? true : undefined));
    const svc = await kubectlJSON<V1Service>(env, '--context=host', 'get', 'service', 'web');
    // Its EndpointSlice comes from the real controller once the pod is Ready: allow it a moment.
    const answer = (url: string) =>
      poll(async () => done(await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text()), { what: url, timeoutMs: 30_000, intervalMs: 250 });
    assert.equal(await answer(`http://${svc.spec!.clusterIP}/`), 'hi from web');
    assert.equal(await answer(`http://${node.network.nodeIP}:${svc.spec!.ports![0]!.nodePort}/`), 'hi from web');
    // From another pod: by name (the pod's hosts file) and through the Service's variables.
    const client =
      "fetch('http://web.default.svc/').then((r) => r.text()).then((t) => process.exit(t === 'hi from web' && process.env.WEB_SERVICE_HOST === " +
      `'${svc.spec!.clusterIP}' ? 0 : 1), () => process.exit(2))`;
    await create(pod('client', ['node', '-e', client], { restartPolicy: 'Never' }));
    assert.equal(await waitForPod('client', 'done', (s) => (s.phase === 'Succeeded' || s.phase === 'Failed' ? s.phase : undefined)), 'Succeeded');
    await run('--context=host', 'delete', 'pod', 'web', 'client', '--wait=false');
    await run('--context=host', 'delete', 'service', 'web');
  });

  test('the runner: env from ConfigMaps and Secrets as a kubelet gives it; a missing key is refused in its words unless optional', async () => {
    await create(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'blue', color: 'red' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { password: 's3cret' } },
    );
    const check = [
      "const e = process.env;",
      "const ok = e.MODE === 'blue' && e.PASS === 's3cret' && !('OPT' in e) && e.CFG_color === 'red' && e.CFG_mode === 'blue' && e.LATER === 'blue-x';",
      'process.exit(ok ? 0 : 1);',
    ].join(' ');
    const envs = pod('envs', ['node', '-e', check], { restartPolicy: 'Never' });
    envs.spec!.containers[0]!.envFrom = [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }, { secretRef: { name: 'absent', optional: true } }];
    envs.spec!.containers[0]!.env = [
      { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
      { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope', optional: true } } },
      { name: 'LATER', value: '$(MODE)-x' },
    ];
    const missing = pod('envs-missing', ['node', '-e', 'process.exit(0)'], { restartPolicy: 'Never' });
    missing.spec!.containers[0]!.env = [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope' } } }];
    await create(envs, missing);
    assert.equal(await waitForPod('envs', 'done', (s) => (s.phase === 'Succeeded' || s.phase === 'Failed' ? s.phase : undefined)), 'Succeeded');
    const refused = await waitForPod('envs-missing', 'a config error', (s) => s.containerStatuses?.[0]?.state?.waiting);
    assert.equal(refused.reason, 'CreateContainerConfigError');
    assert.equal(refused.message, "couldn't find key nope in ConfigMap default/settings");
    await run('--context=host', 'delete', 'pod', 'envs', 'envs-missing', '--wait=false');
  });

  test('the runner: a node status left Unknown by an outage is posted Ready again at the next heartbeat, as a kubelet does', async () => {
    const name = node.runner.nodeName;
    // What the node lifecycle controller writes when it has not heard from a node in time.
    await run('--context=host', 'patch', 'node', name, '--subresource=status', '--type=strategic', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }] } }));
    const ready = await poll(
      async () => {
        const n = await kubectlJSON<{ status?: { conditions?: { type: string; status: string; reason?: string }[] } }>(env, '--context=host', 'get', 'node', name);
        const c = n.status?.conditions?.find((x) => x.type === 'Ready');
        return c?.status === 'True' ? done(c) : notYet(`Ready=${c?.status}`);
      },
      { what: 'the node Ready again', timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.equal(ready.reason, 'KubeletReady');
  });

  test('the runner refuses what a kubelet refuses: runAsNonRoot with a root image; a non-root user writes a fresh volume only with fsGroup', async () => {
    await create(pod('nonroot', ['node', '-e', 'setInterval(() => {}, 1000)'], { securityContext: { runAsNonRoot: true } }));
    const refused = await waitForPod('nonroot', 'refused', (s) => {
      const waiting = s.containerStatuses?.[0]?.state?.waiting;
      return waiting?.reason === 'CreateContainerConfigError' ? waiting.message : undefined;
    });
    assert.match(refused ?? '', /container has runAsNonRoot and image will run as root/);
    await create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'scratch' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    const write = ['node', '-e', "require('fs').writeFileSync('/var/data/x', 'x')"];
    const volume = { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'scratch' } }], restartPolicy: 'Never' as const };
    const writer = (name: string, securityContext: object): V1Pod => {
      const p = pod(name, write, { ...volume, securityContext });
      p.spec!.containers[0]!.volumeMounts = [{ name: 'data', mountPath: '/var/data' }];
      return p;
    };
    await create(writer('no-fsgroup', { runAsUser: 1000, runAsGroup: 1000 }));
    assert.equal(await waitForPod('no-fsgroup', 'done', (s) => (s.phase === 'Succeeded' || s.phase === 'Failed' ? s.phase : undefined)), 'Failed', 'a fresh volume is root\'s');
    await create(writer('fsgroup', { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 }));
    assert.equal(await waitForPod('fsgroup', 'done', (s) => (s.phase === 'Succeeded' || s.phase === 'Failed' ? s.phase : undefined)), 'Succeeded', 'fsGroup makes it writable');
    await run('--context=host', 'delete', 'pod', 'nonroot', 'no-fsgroup', 'fsgroup', '--wait=false');
    await run('--context=host', 'delete', 'pvc', 'scratch', '--wait=false');
  });

  test('LoadBalancer: init into a namespace enforcing Pod Security "restricted", pods Running as non-root, discovery, join -> Ready, the API server survives its process and its pod, unjoin', async () => {
    // As many clusters label every namespace: the host's own PodSecurity admission enforces it.
    await run('--context=host', 'create', 'namespace', 'federation-system');
    await run('--context=host', 'label', 'namespace', 'federation-system', 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest');
    const init = await run('federation', 'init');
    assert.match(init, /Federation API server is running at: https:\/\/10\.245\.0\.\d+\n/);

    // The seed's test plan: control-plane pods Running, through the real Deployment controller.
    const pods = await waitForRunningPods('federation-system');
    assert.deepEqual(pods.map((p) => p.metadata!.labels?.['app.kubernetes.io/component']).sort(), [APISERVER_NAME, CONTROLLER_MANAGER_NAME]);
    const svc = await kubectlJSON<V1Service>(env, '--context=host', '-n', 'federation-system', 'get', 'service', APISERVER_NAME);
    assert.equal(svc.spec?.type, 'LoadBalancer');
    assert.match(svc.status?.loadBalancer?.ingress?.[0]?.ip ?? '', /^10\.245\.0\.\d+$/);

    // Discovery through the context init wrote (and switched to).
    assert.match(await run('config', 'current-context'), /^federation\n$/);
    assert.match(await run('--context=federation', 'api-resources'), /^clusters\s+core\.federation\.kubectl-federation\.io\/v1beta1\s+false\s+Cluster$/m);

    // The controller manager is the ConfigMap's code run by the Node.js image's program, as uid 1000.
    const [controller] = workers('federation-system', CONTROLLER_MANAGER_NAME);
    const c = controller!.containers[0]!;
    assert.equal(c.spec.image, NODE_IMAGE);
    const cmdline = readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').split('\0');
    assert.equal(cmdline[0], process.execPath);
    assert.ok(cmdline.some((a) => a.includes('/opt/federation/controller-manager/controller-manager.cjs')), cmdline.join(' '));
    assert.match(readFileSync(`/proc/${c.pid}/status`, 'utf8'), /^Uid:\s+1000\s/m);
    // etcd and kube-apiserver run as 65532 with the pod's fsGroup, which owns etcd's volume.
    const [apiserverPod] = workers('federation-system', APISERVER_NAME);
    for (const container of apiserverPod!.containers) {
      const status = readFileSync(`/proc/${container.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+65532\s+65532\s/m, container.spec.name);
      assert.match(status, /^Gid:\s+65532\s/m, container.spec.name);
      assert.match(status, /^Groups:\s+65532\s*$/m, container.spec.name);
      assert.match(status, /^NoNewPrivs:\s+1$/m, container.spec.name);
    }
    const claim = await kubectlJSON<{ spec: { volumeName: string } }>(env, '--context=host', '-n', 'federation-system', 'get', 'pvc', 'apiserver-etcd-claim');
    const volume = claim.spec.volumeName;
    assert.equal(statSync(join(node.dir, 'volumes', volume)).gid, 65532, "the claim's volume belongs to the fsGroup");
    assert.equal(statSync(join(node.dir, 'volumes', volume, 'data')).uid, 65532, 'etcd made its data directory as 65532');
    // Not BestEffort, Linux nodes only, no service-account token in the API server's pod.
    const deployed = await kubectlJSON<V1Pod>(env, '--context=host', '-n', 'federation-system', 'get', 'pod', apiserverPod!.pod.metadata!.name!);
    assert.equal(deployed.status?.qosClass, 'Burstable');
    assert.equal(deployed.spec?.nodeSelector?.['kubernetes.io/os'], 'linux');
    assert.equal(deployed.spec?.automountServiceAccountToken, false);
    // What it runs, seen from inside its own mount namespace, is the ConfigMap's code to the byte.
    const code = await kubectlJSON<V1ConfigMap>(env, '--context=host', '-n', 'federation-system', 'get', 'configmap', 'controller-manager-code');
    const shipped = readFileSync(`/proc/${c.pid}/root/opt/federation/controller-manager/controller-manager.cjs`, 'utf8');
    assert.equal(shipped, code.data?.['controller-manager.cjs']);

    await run('federation', 'join', 'member-1');
    await run('federation', 'join', 'member-2');
    await waitForClusters('federation', { 'member-1': 'True', 'member-2': 'True' });

    // Kill the API server's process: the runner restarts the container; the Clusters are still there.
    const [apiserver] = workers('federation-system', APISERVER_NAME);
    const container = apiserver!.containers.find((x) => x.spec.name === APISERVER_NAME)!;
    process.kill(container.pid!, 'SIGKILL');
    await poll(
      async () => {
        const pod = await kubectlJSON<V1Pod>(env, '--context=host', '-n', 'federation-system', 'get', 'pod', apiserver!.pod.metadata!.name!);
        const status = pod.status?.containerStatuses?.find((s) => s.name === APISERVER_NAME);
        return status?.restartCount === 1 && status.ready ? done(true) : notYet(JSON.stringify(status?.state));
      },
      { what: 'the API server container to restart', timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.deepEqual(await readyClusters('federation'), { 'member-1': 'True', 'member-2': 'True' });

    // Delete the whole pod: a new pod, a new etcd process, the same claim; the data is still there.
    const oldUID = apiserver!.pod.metadata!.uid;
    await run('--context=host', '-n', 'federation-system', 'delete', 'pod', apiserver!.pod.metadata!.name!, '--wait=false');
    const [fresh] = await poll(
      async () => {
        const now = workers('federation-system', APISERVER_NAME).filter((w) => w.pod.metadata!.uid !== oldUID);
        return now.length === 1 ? done(now) : notYet(`${now.length} new API server pods`);
      },
      { what: 'a new API server pod', timeoutMs: 90_000, intervalMs: 250 },
    );
    await waitForRunningPods('federation-system');
    assert.notEqual(fresh!.pod.metadata!.uid, oldUID);
    const volumes = await kubectlJSON<{ items: { spec: { claimRef?: { name: string } } }[] }>(env, '--context=host', 'get', 'pv');
    assert.equal(volumes.items.filter((v) => v.spec.claimRef?.name === 'apiserver-etcd-claim').length, 1, 'one persistent volume, provisioned once for the claim');
    assert.deepEqual(await readyClusters('federation'), { 'member-1': 'True', 'member-2': 'True' });

    await run('federation', 'unjoin', 'member-2');
    const listed = await run('get', 'clusters');
    assert.match(listed, /^member-1\s+True\s/m);
    assert.doesNotMatch(listed, /member-2/);
  });

  test('NodePort, every image from a mirror (--image-registry): reachable on the node; a kind-like member refused at its loopback address, Ready with --cluster-server', async () => {
    const nodeIP = node.network.nodeIP;
    await run(
      'federation', 'init', 'fed-nodeport',
      // The current context is the first federation now: name the host.
      '--host-cluster-context=host',
      '--federation-system-namespace=fed-nodeport',
      '--api-server-service-type=NodePort',
      `--api-server-advertise-address=${nodeIP}`,
      `--image-registry=${TEST_MIRROR}`,
      '--switch-context=false',
    );
    await waitForRunningPods('fed-nodeport');
    // The namespace init made carries the level its pods meet.
    const ns = await kubectlJSON<{ metadata: { labels: Record<string, string> } }>(env, '--context=host', 'get', 'namespace', 'fed-nodeport');
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    // The mirrored Node.js image still runs the code init ships in the ConfigMap.
    const [mirrored] = workers('fed-nodeport', CONTROLLER_MANAGER_NAME);
    assert.equal(mirrored!.containers[0]!.spec.image, `${TEST_MIRROR}/node:${NODE_VERSION}-slim`);
    assert.ok(mirrored!.pod.spec!.volumes!.some((v) => v.configMap?.name === 'controller-manager-code'));
    for (const w of workers('fed-nodeport', APISERVER_NAME)) {
      for (const container of w.containers) assert.ok(container.spec.image!.startsWith(`${TEST_MIRROR}/`), container.spec.image);
    }
    const svc = await kubectlJSON<V1Service>(env, '--context=host', '-n', 'fed-nodeport', 'get', 'service', APISERVER_NAME);
    assert.equal(svc.spec?.type, 'NodePort');
    const nodePort = svc.spec?.ports?.[0]?.nodePort;
    assert.ok(nodePort);
    const server = await run('config', 'view', '-o', `jsonpath={.clusters[?(@.name=="fed-nodeport")].cluster.server}`);
    assert.equal(server, `https://${nodeIP}:${nodePort}`);
    assert.match(await run('--context=fed-nodeport', 'api-resources', '--api-group=core.federation.kubectl-federation.io'), /^clusters\s/m);
    // member-1 as kind publishes it: on this machine's loopback (a port forwarded to its real
    // address, as Docker does), which the controller manager's pod cannot reach.
    const memberServer = await run('config', 'view', '-o', 'jsonpath={.clusters[?(@.name=="member-1-cluster")].cluster.server}');
    const target = new URL(memberServer);
    const forward = createServer((socket) => socket.pipe(netConnect(Number(target.port), target.hostname)).pipe(socket).on('error', () => socket.destroy()));
    await new Promise<void>((resolve) => forward.listen(0, '127.0.0.1', resolve));
    try {
      const loopback = `https://127.0.0.1:${(forward.address() as AddressInfo).port}`;
      await run('config', 'set-cluster', 'member-1-kind', `--server=${loopback}`);
      await run('config', 'set', 'clusters.member-1-kind.certificate-authority-data', await run('config', 'view', '--raw', '-o', 'jsonpath={.clusters[?(@.name=="member-1-cluster")].cluster.certificate-authority-data}'));
      await run('config', 'set-context', 'member-1-kind', '--cluster=member-1-kind', '--user=member-1-admin');
      const refused = await kubectl(env, 'federation', 'join', 'member-1', '--cluster-context=member-1-kind', '--context=fed-nodeport');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr.trim(), /^error: cluster "member-1" is served at https:\/\/127\.0\.0\.1:\d+ .*--cluster-server=URL/);
      await run('federation', 'join', 'member-1', '--cluster-context=member-1-kind', '--context=fed-nodeport', `--cluster-server=${memberServer}`);
      // Probed from the host's pod network, at the address given.
      await waitForClusters('fed-nodeport', { 'member-1': 'True' });
    } finally {
      forward.close();
    }
  });

  test("the README's kubeadm recipe: a single-node cluster hosts the federation and is its first member", async () => {
    // The flags the README gives for a new single-node kubeadm cluster: NodePort on the node's
    // address, etcd on emptyDir (no storage class), and --join.
    const nodeIP = node.network.nodeIP;
    const out = await run(
      'federation', 'init', 'fed-kubeadm',
      '--host-cluster-context=host',
      '--federation-system-namespace=fed-kubeadm',
      '--api-server-service-type=NodePort',
      `--api-server-advertise-address=${nodeIP}`,
      '--etcd-persistent-storage=false',
      '--join',
      '--switch-context=false',
    );
    assert.match(out, /Federation API server is running at: https:\/\/10\.244\.0\.1:\d+\n/);
    await waitForRunningPods('fed-kubeadm');
    const deployment = await kubectlJSON<V1Deployment>(env, '--context=host', '-n', 'fed-kubeadm', 'get', 'deployment', APISERVER_NAME);
    assert.deepEqual(deployment.spec?.template.spec?.volumes?.find((v) => v.name === 'etcd-data')?.emptyDir, {});
    await waitForClusters('fed-kubeadm', { host: 'True' });
    // Its etcd is on an emptyDir: renewing the API server's certificate (a pod roll) is refused.
    const renew = await kubectl(env, 'federation', 'certs', 'renew', 'apiserver', '--federation=fed-kubeadm');
    assert.equal(renew.code, 1);
    assert.match(renew.stderr, /keeps etcd's data on an emptyDir .* would lose that data/);
  });

  test('external etcd over TLS: an etcd that demands client certificates serves the federation through the files given to init; the key is printed nowhere', async () => {
    // The external etcd: a pod of the host (the real etcd, as the etcd image runs it) with TLS on both
    // sides and --client-cert-auth, so the federation works only if its API server presents our client
    // certificate and trusts our CA.
    const ca = await newCertificateAuthority('external-etcd-ca');
    const server = await newSignedCertificate({ commonName: 'etcd', usage: 'server', altNames: ['etcd.ext-etcd.svc', 'etcd.ext-etcd.svc.cluster.local'] }, ca);
    const client = await newSignedCertificate({ commonName: 'federation-apiserver', usage: 'client' }, ca);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await run('--context=host', 'create', 'namespace', 'ext-etcd');
    const labels = { app: 'etcd' };
    const file = join(node.dir, 'external-etcd.json');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'etcd-tls', namespace: 'ext-etcd' }, data: { 'ca.crt': b64(ca.cert), 'tls.crt': b64(server.cert), 'tls.key': b64(server.key) } },
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'etcd', namespace: 'ext-etcd' }, spec: { selector: labels, ports: [{ name: 'client', port: 2379 }] } },
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'etcd', namespace: 'ext-etcd', labels },
            spec: {
              containers: [
                {
                  name: 'etcd',
                  image: ETCD_IMAGE,
                  command: [
                    'etcd', '--data-dir=/var/lib/etcd', '--name=external',
                    '--listen-client-urls=https://0.0.0.0:2379', '--advertise-client-urls=https://etcd.ext-etcd.svc:2379',
                    '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380', '--initial-cluster=external=http://127.0.0.1:2380',
                    '--cert-file=/etc/etcd-tls/tls.crt', '--key-file=/etc/etcd-tls/tls.key', '--trusted-ca-file=/etc/etcd-tls/ca.crt', '--client-cert-auth=true',
                  ],
                  volumeMounts: [{ name: 'tls', mountPath: '/etc/etcd-tls', readOnly: true }, { name: 'data', mountPath: '/var/lib/etcd' }],
                },
              ],
              volumes: [{ name: 'tls', secret: { secretName: 'etcd-tls' } }, { name: 'data', emptyDir: {} }],
            },
          },
        ],
      }),
    );
    await run('--context=host', 'create', '-f', file);
    const files = { ca: join(node.dir, 'etcd-ca.crt'), cert: join(node.dir, 'etcd-client.crt'), key: join(node.dir, 'etcd-client.key') };
    writeFileSync(files.ca, ca.cert);
    writeFileSync(files.cert, client.cert);
    writeFileSync(files.key, client.key, { mode: 0o600 });
    const keyBody = client.key.split('\n').filter((l) => l && !l.startsWith('-----')).join('');

    const out = await kubectl(
      env,
      'federation', 'init', 'fed-ext',
      '--host-cluster-context=host',
      '--federation-system-namespace=fed-ext',
      '--api-server-service-type=NodePort',
      `--api-server-advertise-address=${node.network.nodeIP}`,
      '--etcd-servers=https://etcd.ext-etcd.svc:2379',
      `--etcd-cafile=${files.ca}`,
      `--etcd-certfile=${files.cert}`,
      `--etcd-keyfile=${files.key}`,
      '--switch-context=false',
    );
    assert.equal(out.code, 0, `${out.stdout}${out.stderr}\n${runnerTail()}`);
    await waitForRunningPods('fed-ext');
    // Only the API server runs: etcd is the external one.
    const apiserver = await kubectlJSON<V1Deployment>(env, '--context=host', '-n', 'fed-ext', 'get', 'deployment', APISERVER_NAME);
    assert.deepEqual(apiserver.spec?.template.spec?.containers.map((c) => c.name), [APISERVER_NAME]);
    // The federation's objects are in the external etcd: written and read back through it.
    await run('--context=fed-ext', 'create', 'configmap', 'through-tls-etcd', '--from-literal=ok=yes');
    assert.equal((await kubectlJSON<V1ConfigMap>(env, '--context=fed-ext', 'get', 'configmap', 'through-tls-etcd')).data?.ok, 'yes');
    const dry = await kubectl(env, 'federation', 'init', 'fed-ext', '--host-cluster-context=host', '--federation-system-namespace=fed-ext', '--etcd-servers=https://etcd.ext-etcd.svc:2379', `--etcd-cafile=${files.ca}`, `--etcd-certfile=${files.cert}`, `--etcd-keyfile=${files.key}`, '--dry-run=client', '-o', 'yaml');
    assert.equal(dry.code, 0, dry.stderr);
    for (const text of [out.stdout, out.stderr, dry.stdout, dry.stderr]) {
      assert.ok(!text.includes(keyBody.slice(0, 64)) && !text.includes(b64(client.key).slice(0, 64)), 'the client key is printed nowhere');
    }
    const removed = await kubectl(env, 'federation', 'deinit', 'fed-ext', '--yes');
    assert.equal(removed.code, 0, removed.stderr);
    await run('--context=host', 'delete', 'namespace', 'ext-etcd', '--wait=false');
  });

  test("the federation refuses a Service's externalIPs (DenyServiceExternalIPs): they would reach every member", async () => {
    const file = join(node.dir, 'external-ips.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'grab', namespace: 'default' }, spec: { ports: [{ port: 80 }], externalIPs: ['192.0.2.1'] } }));
    const r = await kubectl(env, '--context=federation', 'create', '-f', file);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /externalIPs/i);
    assert.equal((await kubectl(env, '--context=federation', 'get', 'service', 'grab')).code, 1, 'not created');
  });

  test('status: a healthy federation exits 0; with its API server pod deleted it exits 1 and says what would fix it', async () => {
    const healthy = await kubectl(env, 'federation', 'status', 'federation');
    assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
    assert.match(healthy.stdout, /^Federation federation \(context federation\): healthy$/m);
    assert.match(healthy.stdout, /^ {2}apiserver-\S+\s+2\/2\s+Running\s/m);
    assert.match(healthy.stdout, /^ {2}ca\s+\d{4}-\d\d-\d\d\s+\d+d$/m);
    // LAST PROBE is the controller's last probe (every 10 s here), not the status it last wrote.
    const probed = /^ {2}member-1\s+True\s+ClusterReady\s+(\d+)s ago$/m.exec(healthy.stdout);
    assert.ok(probed, healthy.stdout);
    assert.ok(Number(probed[1]) <= 25, `last probed ${probed[1]}s ago`);
    const json = JSON.parse((await kubectl(env, 'federation', 'status', 'federation', '-o', 'json')).stdout) as { healthy: boolean; certificates: { name: string }[] };
    assert.equal(json.healthy, true);
    assert.deepEqual(json.certificates.map((c) => c.name), ['ca', 'apiserver', 'controller-manager', 'admin (kubeconfig)']);

    const [apiserver] = workers('federation-system', APISERVER_NAME);
    await run('--context=host', '-n', 'federation-system', 'delete', 'pod', apiserver!.pod.metadata!.name!, '--wait=false');
    const broken = await poll(
      async () => {
        const r = await kubectl(env, 'federation', 'status', 'federation');
        return r.code === 1 ? done(r) : notYet('still healthy');
      },
      { what: 'status to see the API server gone', timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.match(broken.stdout, /NOT HEALTHY/);
    assert.match(broken.stdout, /^ {2}- (pod apiserver-\S+ is|no apiserver pod|the federation API server|listing the members failed).*$/m);
    await waitForRunningPods('federation-system');
    await poll(async () => ((await kubectl(env, 'federation', 'status', 'federation')).code === 0 ? done(true) : notYet('not yet healthy')), {
      what: 'the federation to be healthy again',
      timeoutMs: 90_000,
      intervalMs: 500,
    });
  });

  test('certs: check-expiration lists what init made; renew keeps the CA, rolls the pods, and clients before and after keep working', async () => {
    const table = await run('federation', 'certs', 'check-expiration', '--federation=federation');
    assert.match(table, /^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY$/m);
    for (const name of ['ca', 'apiserver', 'controller-manager', 'admin \\(kubeconfig user of context federation\\)']) assert.match(table, new RegExp(`^${name}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+\\d+d`, 'm'));
    const server = new URL((await run('config', 'view', '-o', 'jsonpath={.clusters[?(@.name=="federation")].cluster.server}')).trim());
    const servingCert = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: server.hostname, port: Number(server.port || 443), rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.end();
        });
        socket.once('error', reject);
      });
    const before = await servingCert();
    // A client that has the admin certificate from before the renewal.
    const oldKubeconfig = join(node.dir, 'kubeconfig-before-renew');
    copyFileSync(join(node.dir, 'kubeconfig'), oldKubeconfig);
    const oldClient = new RestClient(await credentialsFor(Kubeconfig.load(oldKubeconfig).resolve('federation')));
    try {
      await oldClient.get('/apis/core.federation.kubectl-federation.io/v1beta1/clusters');
      const renewed = await run('federation', 'certs', 'renew', '--federation=federation');
      assert.match(renewed, /^Issuing new certificates for federation \S+ with its CA\.\.\. done \(apiserver, controller-manager, admin\)$/m);
      assert.match(renewed, /^Rolling Deployment federation-system\/apiserver onto its new certificate\.\.\. done$/m);
      assert.match(renewed, /^Renewed apiserver, controller-manager, admin for federation federation\./m);
      assert.notEqual(await servingCert(), before, 'a new serving certificate');
      // Same CA: the old client still verifies the server and is still accepted; so is the new one.
      await poll(async () => done(await oldClient.get('/apis/core.federation.kubectl-federation.io/v1beta1/clusters')), { what: 'the old client', timeoutMs: 60_000, intervalMs: 500 });
      assert.match(await run('get', 'clusters'), /^member-1\s/m);
      // The controller manager runs with its new certificate and still marks members Ready.
      await waitForRunningPods('federation-system');
      await waitForClusters('federation', { 'member-1': 'True' });
    } finally {
      oldClient.close();
    }
  });

  test('short-lived certificates: status names them, the controller manager records an Event, certs renew fixes both', async () => {
    await run(
      'federation', 'init', 'fed-short',
      '--host-cluster-context=host',
      '--federation-system-namespace=fed-short',
      '--api-server-service-type=NodePort',
      `--api-server-advertise-address=${node.network.nodeIP}`,
      '--cert-validity=240h',
      '--switch-context=false',
    );
    await waitForRunningPods('fed-short');
    const status = await kubectl(env, 'federation', 'status', 'fed-short');
    assert.equal(status.code, 1, status.stdout + status.stderr);
    assert.equal(status.stderr, '');
    assert.match(status.stdout, /^ {2}- certificate apiserver expires in 9 days \(\S+\): kubectl federation certs renew --federation=fed-short$/m);
    const events = await poll(
      async () => {
        const list = await kubectlJSON<{ items: { reason: string; message: string }[] }>(env, '--context=fed-short', '-n', 'default', 'get', 'events', '--field-selector', 'reason=CertificateExpiring');
        return list.items.length >= 2 ? done(list.items) : notYet(`${list.items.length} events`);
      },
      { what: "the controller manager's CertificateExpiring events", timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.ok(events.some((e) => /^the federation API server's serving certificate expires on \S+ \(9 days\): run kubectl federation certs renew$/.test(e.message)), JSON.stringify(events));
    assert.ok(events.some((e) => e.message.startsWith("the controller manager's client certificate expires")));

    await run('federation', 'certs', 'renew', '--federation=fed-short');
    // The API server has just restarted with its new certificate: healthy once it serves again.
    await poll(
      async () => {
        const after = await kubectl(env, 'federation', 'status', 'fed-short');
        return after.code === 0 ? done(true) : notYet(after.stdout.split('Problems:')[1]?.trim() ?? after.stderr);
      },
      { what: 'fed-short to be healthy after the renewal', timeoutMs: 60_000, intervalMs: 1000 },
    );
    const removed = await kubectl(env, 'federation', 'deinit', 'fed-short', '--purge-data', '--yes');
    assert.equal(removed.code, 0, removed.stderr);
  });

  test('upgrade by re-running init: one minor at a time, the data kept, a skip and a downgrade refused', async () => {
    const init = (...args: string[]) =>
      kubectl(env, 'federation', 'init', 'fed-up', '--host-cluster-context=host', '--federation-system-namespace=fed-up', '--api-server-service-type=NodePort', `--api-server-advertise-address=${node.network.nodeIP}`, '--switch-context=false', ...args);
    const first = await init('--image=registry.k8s.io/kube-apiserver:v1.35.9');
    assert.equal(first.code, 0, first.stderr);
    await waitForRunningPods('fed-up');
    await run('--context=fed-up', 'create', 'namespace', 'kept-across-upgrades');

    const skip = await init();
    assert.equal(skip.code, 1);
    assert.match(skip.stderr, /^error: federation fed-up runs kube-apiserver v1\.35\.9; v1\.37\.2 is 2 minor versions later, and kube-apiserver upgrades one minor version at a time: first run init with --image=registry\.k8s\.io\/kube-apiserver:v1\.36\.<latest patch>$/m);
    for (const [args, change] of [[['--image=registry.k8s.io/kube-apiserver:v1.36.9'], 'v1.35.9 -> v1.36.9'], [[], 'v1.36.9 -> v1.37.2']] as const) {
      const up = await init(...args);
      // init does not retry yet (issue #15): a reset from the just-restarted API server ends it with
      // "run init again", and running it again must finish the upgrade.
      if (up.code !== 0 && /run init again to continue/.test(up.stderr)) {
        const again = await init(...args);
        assert.equal(again.code, 0, again.stderr);
        await waitForRunningPods('fed-up');
        assert.match(await run('--context=fed-up', 'get', 'namespace', 'kept-across-upgrades'), /Active/);
        continue;
      }
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, new RegExp(`Creating federation API server deployment\\.\\.\\. done \\(upgrading kube-apiserver ${change.replaceAll('.', '\\.')}\\)`));
      await waitForRunningPods('fed-up');
      assert.match(await run('--context=fed-up', 'get', 'namespace', 'kept-across-upgrades'), /Active/);
    }
    const status = await kubectl(env, 'federation', 'status', 'fed-up', '-o', 'json');
    assert.ok((JSON.parse(status.stdout) as { pods: { images: string[] }[] }).pods.some((p) => p.images.includes('registry.k8s.io/kube-apiserver:v1.37.2')));

    const down = await init('--image=registry.k8s.io/kube-apiserver:v1.36.9');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^error: federation fed-up runs kube-apiserver v1\.37\.2, newer than v1\.36\.9 that this init would deploy: downgrades are not supported/m);
    // deinit killed part-way (while it waits for the pods to stop), then run again: it finishes.
    const interrupted = spawn('kubectl', ['federation', 'deinit', 'fed-up', '--purge-data', '--yes'], { env, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500));
    interrupted.kill('SIGKILL');
    await new Promise((r) => interrupted.once('close', r));
    const removed = await kubectl(env, 'federation', 'deinit', 'fed-up', '--purge-data', '--yes');
    assert.equal(removed.code, 0, removed.stderr);
    await poll(async () => ((await kubectl(env, '--context=host', 'get', 'namespace', 'fed-up')).code === 0 ? notYet('still there') : done(true)), {
      what: 'namespace fed-up to go',
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    assert.doesNotMatch(await run('config', 'get-contexts', '-o', 'name'), /^fed-up$/m);
  });

  test('deinit: refuses with members, lists in a dry run, asks for --yes without a terminal, then removes everything', async () => {
    const deinit = (...args: string[]) => kubectl(env, 'federation', 'deinit', ...args);
    // fed-kubeadm (above) has the host joined.
    const refused = await deinit('fed-kubeadm', '--yes');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: federation fed-kubeadm still has members: host; unjoin them first, pass --unjoin-members to have deinit do it, or --keep-members to leave them for a restore from a backup$/m);
    const noTerminal = await deinit('fed-kubeadm');
    assert.equal(noTerminal.code, 2);
    assert.match(noTerminal.stderr, /no terminal to ask on: pass --yes/);
    const dry = await deinit('fed-kubeadm', '--dry-run', '--unjoin-members');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^ {2}Deployment fed-kubeadm\/apiserver$/m);
    assert.match(dry.stdout, /^ {2}Namespace fed-kubeadm$/m);
    // A dry run never says it did something.
    assert.doesNotMatch(dry.stdout, /\bdone\b/, dry.stdout);
    assert.match(dry.stdout, /^Deleting the control plane of federation fed-kubeadm from namespace fed-kubeadm\.\.\. checked \(dry run\)/m);
    assert.equal((await kubectlJSON<V1Deployment>(env, '--context=host', '-n', 'fed-kubeadm', 'get', 'deployment', APISERVER_NAME)).metadata?.name, APISERVER_NAME, 'a dry run removes nothing');

    const done_ = await deinit('fed-kubeadm', '--unjoin-members', '--yes');
    assert.equal(done_.code, 0, done_.stderr);
    assert.match(done_.stdout, /Federation fed-kubeadm removed/);
    // No claim (etcd was on emptyDir): the namespace init made goes too; so does the kubeconfig entry.
    await poll(async () => ((await kubectl(env, '--context=host', 'get', 'namespace', 'fed-kubeadm')).code === 0 ? notYet('still there') : done(true)), {
      what: 'namespace fed-kubeadm to go',
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    assert.doesNotMatch(await run('config', 'get-contexts', '-o', 'name'), /^fed-kubeadm$/m);
    const again = await deinit('fed-kubeadm', '--yes');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /"fed-kubeadm" names no federation that init made/);
  });

  test('deinit keeps etcd\'s data unless --purge-data; init after it finds the data, with a new CA', async () => {
    // The LoadBalancer federation (above) still has member-1 joined.
    const caBefore = (await kubectlJSON<{ data: Record<string, string> }>(env, '--context=host', '-n', 'federation-system', 'get', 'secret', 'apiserver-credentials')).data['ca.crt'];
    await run('--context=federation', 'create', 'namespace', 'kept-data');
    const kept = await kubectl(env, 'federation', 'deinit', 'federation', '--unjoin-members', '--yes');
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /Kept etcd's data: PersistentVolumeClaim federation-system\/apiserver-etcd-claim/);
    assert.match(kept.stdout, /switched to context "host"/);
    assert.match(await run('--context=host', '-n', 'federation-system', 'get', 'pvc'), /apiserver-etcd-claim/);

    const init = await run('federation', 'init', '--host-cluster-context=host');
    assert.match(init, /new: CA/);
    assert.match(init, /found: etcd's data from before \(claim apiserver-etcd-claim, \w+\) is used again/, 'init says it found the data deinit kept');
    await waitForRunningPods('federation-system');
    const caAfter = (await kubectlJSON<{ data: Record<string, string> }>(env, '--context=host', '-n', 'federation-system', 'get', 'secret', 'apiserver-credentials')).data['ca.crt'];
    assert.notEqual(caAfter, caBefore, 'the CA went with deinit: init made a new one');
    assert.match(await run('--context=federation', 'get', 'namespace', 'kept-data'), /kept-data\s+Active/, "etcd's data survived");

    const purged = await kubectl(env, 'federation', 'deinit', 'federation', '--purge-data', '--yes');
    assert.equal(purged.code, 0, purged.stderr);
    assert.doesNotMatch(purged.stdout, /Kept etcd's data/);
    // The namespace is the user's (made before the first init, with its Pod Security labels): init
    // put no label of its own on it, so deinit leaves it, as it was, and empty of init's objects.
    assert.match(purged.stdout, /^Deleting namespace federation-system\.\.\. done \(kept: init did not create it\)$/m);
    const ns = await kubectlJSON<{ metadata: { labels?: Record<string, string> } }>(env, '--context=host', 'get', 'namespace', 'federation-system');
    assert.equal(ns.metadata.labels?.['federation.kubectl-federation.io/name'], undefined, 'no label of init\'s left behind');
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', "the user's labels as they were");
    const left = await kubectlJSON<{ items: unknown[] }>(env, '--context=host', '-n', 'federation-system', 'get', 'deployments,services,persistentvolumeclaims', '-l', 'app.kubernetes.io/managed-by=kubectl-federation');
    assert.deepEqual(left.items, [], "nothing of init's left in it");
  });
});
