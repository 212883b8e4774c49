// The federation control plane really runs: init's pods run on the local pod runner (real
// ReplicaSet, EndpointSlice, PV controllers of the host plane; every container a local process in
// its own namespaces), and the seed design's test plan holds through kubectl plugin discovery.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1ConfigMap, V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';
import { APISERVER_NAME, CONTROLLER_MANAGER_NAME, NODE_IMAGE } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import type { PodWorker } from '../podrunner/pod-worker.ts';
import { kubectl, kubectlJSON } from '../support/kubectl.ts';
import { type LocalNode, startLocalNode } from '../support/local-node.ts';
import { inOwnNetns } from '../support/netns.ts';
import { PLUGIN_BIN, pluginEnv } from '../support/plugin-path.ts';

// Pods need root and the network namespace test/run.ts makes; CI (root) must run them.
const skip = !inOwnNetns() && process.env.CI !== 'true' ? 'needs root: run as root through node test/run.ts (make test)' : false;

interface ClusterList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

describe('the federation control plane on the local pod runner', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    node = await startLocalNode({ names: ['host', 'member-1', 'member-2'], lifetimeMs: 20 * 60_000 });
    const kubeconfig = join(node.dir, 'kubeconfig');
    copyFileSync(node.planes.kubeconfig, kubeconfig);
    Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
    env = pluginEnv(kubeconfig);
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
  const runnerTail = () => readFileSync(node.runner.logFile, 'utf8').split('\n').slice(-30).join('\n');

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

  test('LoadBalancer: init, pods Running, discovery, join -> Ready, the API server survives its process and its pod, unjoin', async () => {
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
    const volumes = readdirSync(join(node.dir, 'volumes'));
    assert.equal(volumes.length, 1, 'one persistent volume, provisioned once for the claim');
    assert.deepEqual(await readyClusters('federation'), { 'member-1': 'True', 'member-2': 'True' });

    await run('federation', 'unjoin', 'member-2');
    const listed = await run('get', 'clusters');
    assert.match(listed, /^member-1\s+True\s/m);
    assert.doesNotMatch(listed, /member-2/);
  });

  test('NodePort with --api-server-advertise-address: reachable on the node, join -> Ready', async () => {
    const nodeIP = node.network.nodeIP;
    await run(
      'federation', 'init', 'fed-nodeport',
      // The current context is the first federation now: name the host.
      '--host-cluster-context=host',
      '--federation-system-namespace=fed-nodeport',
      '--api-server-service-type=NodePort',
      `--api-server-advertise-address=${nodeIP}`,
      '--switch-context=false',
    );
    await waitForRunningPods('fed-nodeport');
    const svc = await kubectlJSON<V1Service>(env, '--context=host', '-n', 'fed-nodeport', 'get', 'service', APISERVER_NAME);
    assert.equal(svc.spec?.type, 'NodePort');
    const nodePort = svc.spec?.ports?.[0]?.nodePort;
    assert.ok(nodePort);
    const server = await run('config', 'view', '-o', `jsonpath={.clusters[?(@.name=="fed-nodeport")].cluster.server}`);
    assert.equal(server, `https://${nodeIP}:${nodePort}`);
    assert.match(await run('--context=fed-nodeport', 'api-resources', '--api-group=core.federation.kubectl-federation.io'), /^clusters\s/m);
    await run('federation', 'join', 'member-1', '--context=fed-nodeport');
    await waitForClusters('fed-nodeport', { 'member-1': 'True' });
  });
});
