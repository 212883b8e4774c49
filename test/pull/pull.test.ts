// Pull mode on the local planes with pods really running: a member whose API server the host's pod
// network cannot reach (policy routing in the run's own network namespace refuses every packet from
// the host's pods to it), joined from its own side with the command token create prints; its agent
// (the stock Node.js image running our code) keeps it Ready, applies a propagated Deployment whose
// status the federation sums, puts drift back, deletes; a forged write for another member is
// refused; the agent killed while applying and the federation out of its reach both converge.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1ConfigMap, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { NODE_IMAGE } from '../../shared/constants.ts';
import { CODE_FILE } from '../../shared/manifests/controller-manager.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { run as runCommand } from '../podrunner/commands.ts';
import { createSandbox, type Sandbox } from '../podrunner/network.ts';
import { kubectl, kubectlJSON, runProgram } from '../support/kubectl.ts';
import { type LocalNode, startLocalNode } from '../support/local-node.ts';
import { podTestsSkip } from '../support/netns.ts';
import { pluginEnv } from '../support/plugin-path.ts';
import { userSteps } from '../support/user-steps.ts';

const skip = podTestsSkip();
const SLOT = 5;
/** The bridges the host's pods and the member's pods send through (startLocalNode's names): the test's own traffic comes from neither. */
const HOST_PODS = `kf${SLOT}node0`;
const MEMBER_PODS = `kf${SLOT}node1`;
/** startLocalNode gives plane j of slot s the Service range 10.(100+8s+j).0.0/16. */
const MEMBER_SERVICES = `10.${100 + SLOT * 8 + 1}.0.0/16`;
const SERVER = "require('http').createServer((q, r) => r.end('ok')).listen(8080)";

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface ClusterList {
  items: { metadata: { name: string }; spec: { mode?: string }; status?: { conditions?: Condition[]; agent?: { version: string; codeDigest: string; current: boolean } } }[];
}

/** Policy rules of this test, before the local table (moved to 100 once: rules after it never see local traffic). */
async function refuse(rules: string[][]): Promise<() => Promise<void>> {
  const list = await runCommand('ip', ['rule', 'list']);
  if (/^0:\s+from all lookup local/m.test(list)) {
    await runCommand('ip', ['rule', 'add', 'pref', '100', 'lookup', 'local']);
    await runCommand('ip', ['rule', 'del', 'pref', '0']);
  }
  for (const [i, r] of rules.entries()) await runCommand('ip', ['rule', 'add', 'pref', String(10 + i + SLOT * 10), ...r, 'prohibit']);
  return async () => {
    for (const [i, r] of rules.entries()) await runCommand('ip', ['rule', 'del', 'pref', String(10 + i + SLOT * 10), ...r, 'prohibit']).catch(() => undefined);
  };
}

describe('a private member joined in pull mode', { skip }, () => {
  let node: LocalNode;
  let env: NodeJS.ProcessEnv;
  let kubeconfig: string;
  let memberServer: URL;
  let unrefuse: (() => Promise<void>) | undefined;
  let probe: Sandbox | undefined;
  // The agent's own log (its container's log file on the member's node): what a failed wait shows.
  const agentLogTail = () => {
    const logs = join(dirname(node.memberRunners.get('edge-1')!.logFile), 'logs');
    const files = existsSync(logs) ? readdirSync(logs).filter((f) => f.startsWith('federation-system_') && f.includes('-agent-') && f.endsWith('_agent.log')) : [];
    return files.map((f) => readFileSync(join(logs, f), 'utf8')).join('\n');
  };

  before(async () => {
    node = await startLocalNode({ names: ['host', 'edge-1'], memberNodes: ['edge-1'], slot: SLOT, lifetimeMs: 20 * 60_000 });
    kubeconfig = join(node.dir, 'kubeconfig');
    copyFileSync(node.planes.kubeconfig, kubeconfig);
    Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
    env = pluginEnv(kubeconfig);
    memberServer = new URL(Kubeconfig.load(kubeconfig).resolve('edge-1').cluster.server);
    // From the host's pods: no way to the member's API server, directly or through its Services.
    unrefuse = await refuse([
      ['iif', HOST_PODS, 'to', `${memberServer.hostname}/32`, 'ipproto', 'tcp', 'dport', memberServer.port],
      ['iif', HOST_PODS, 'to', MEMBER_SERVICES],
    ]);
    probe = await createSandbox(node.network);
  });

  after(async () => {
    await probe?.stop();
    await unrefuse?.();
    await node?.stop();
  });

  const { run, waitFor } = userSteps(() => env, () => node.dir, () => agentLogTail(), 120_000);
  const clusters = () => kubectlJSON<ClusterList>(env, '--context=federation', 'get', 'clusters');
  const readyOf = async (name: string) => (await clusters()).items.find((c) => c.metadata.name === name)?.status?.conditions?.find((c) => c.type === 'Ready');
  const agentPods = async () => (await kubectlJSON<{ items: V1Pod[] }>(env, '--context=edge-1', '-n', 'federation-system', 'get', 'pods', '-l', 'app.kubernetes.io/component=agent')).items;
  /** From a sandbox on the host's pod network: can it open a connection to host:port? */
  const reachable = async (host: string, port: string) => {
    const script = `const s=require('net').connect(${port},'${host}');s.setTimeout(3000);s.on('connect',()=>{console.log('open');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('timeout',()=>{console.log('timeout');process.exit(0)})`;
    const r = await runProgram('nsenter', {}, `--net=${probe!.netnsPath}`, process.execPath, '-e', script);
    return r.stdout.trim();
  };

  test("the host's pod network cannot reach the member's API server; it can reach the host's", async () => {
    const hostServer = new URL(Kubeconfig.load(kubeconfig).resolve('host').cluster.server);
    assert.equal(await reachable(hostServer.hostname, hostServer.port), 'open');
    assert.notEqual(await reachable(memberServer.hostname, memberServer.port), 'open');
  });

  let joinCommand: string[] = [];

  test('token create prints the join command: one line, a token for this cluster, the CA hash; a bad input is one line', async () => {
    await run('federation', 'init');
    const out = await run('federation', 'token', 'create', 'edge-1', '--ttl=30m');
    const line = /^ {2}(kubectl federation join edge-1 --pull --federation-server=https:\/\/\S+ --token=[a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash=sha256:[0-9a-f]{64})$/m.exec(out);
    assert.ok(line, out);
    joinCommand = line[1]!.split(' ').slice(1);
    const cluster = (await clusters()).items.find((c) => c.metadata.name === 'edge-1');
    assert.equal(cluster?.spec.mode, 'Pull');
    const bad = await kubectl(env, 'federation', 'token', 'create', 'Edge_1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: "Edge_1" is not a valid cluster name .*\n$/);
    // A dry run shows the objects and never a token.
    const dry = await run('federation', 'token', 'create', 'edge-9', '--dry-run', '-o', 'yaml');
    assert.match(dry, /token-secret: REDACTED/);
  });

  test('join --pull from the member side: a wrong hash sends nothing; the printed command joins it, Ready', async () => {
    const wrong = await kubectl(env, ...joinCommand.map((a) => (a.startsWith('--discovery-token-ca-cert-hash=') ? `--discovery-token-ca-cert-hash=sha256:${'0'.repeat(64)}` : a)));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^error: the server at https:\/\/\S+ publishes a CA whose public key does not have the hash sha256:0+: nothing was sent to it; .*\n$/);
    const joined = await run(...joinCommand);
    assert.match(joined, /^Cluster edge-1 joined federation federation in pull mode: its agent reports to https:\/\/\S+\. See it from the federation with: kubectl get clusters$/m);
    await waitFor('edge-1 Ready', async () => ((await readyOf('edge-1'))?.status === 'True' ? true : undefined));
    assert.match(await run('--context=federation', 'get', 'clusters'), /^edge-1\s+True\s+Pull\s/m);
    // The agent runs as the stock image with Pod Security restricted.
    const [pod] = await agentPods();
    assert.equal(pod?.spec?.containers[0]?.image, NODE_IMAGE);
    assert.equal(pod?.spec?.securityContext?.runAsNonRoot, true);
  });

  test('a Deployment created in the federation runs in the member; its status is summed; drift is put back; deletion removes it', async () => {
    await run('--context=federation', 'create', 'namespace', 'shop');
    await run('--context=federation', '-n', 'shop', 'create', 'deployment', 'web', `--image=${NODE_IMAGE}`, '--replicas=2', '--', 'node', '-e', SERVER);
    const rollout = await kubectl(env, '--context=federation', '-n', 'shop', 'rollout', 'status', 'deployment/web', '--timeout=120s');
    assert.equal(rollout.code, 0, `${rollout.stdout}${rollout.stderr}`);
    assert.match(await run('--context=federation', '-n', 'shop', 'get', 'deployment', 'web'), /^web\s+2\/2\s+2\s+2\s/m);
    const copy = await kubectlJSON<V1Deployment>(env, '--context=edge-1', '-n', 'shop', 'get', 'deployment', 'web');
    assert.equal(copy.metadata?.labels?.[PROPAGATED_BY_LABEL] !== undefined, true);
    assert.match(await run('--context=federation', '-n', 'shop', 'get', 'propagations'), /edge-1/);
    // Drift: scaled in the member, put back; deleted in the member, made again.
    await run('--context=edge-1', '-n', 'shop', 'scale', 'deployment', 'web', '--replicas=5');
    await waitFor('the member scale put back', async () => ((await kubectlJSON<V1Deployment>(env, '--context=edge-1', '-n', 'shop', 'get', 'deployment', 'web')).spec?.replicas === 2 ? true : undefined));
    const uid = copy.metadata?.uid;
    await run('--context=edge-1', '-n', 'shop', 'delete', 'deployment', 'web', '--wait=false');
    await waitFor('the member copy made again', async () => {
      const again = await kubectlJSON<V1Deployment>(env, '--context=edge-1', '-n', 'shop', 'get', 'deployment', 'web').catch(() => undefined);
      return again && again.metadata?.uid !== uid ? true : undefined;
    });
    const events = await run('--context=federation', '-n', 'shop', 'get', 'events', '--field-selector=involvedObject.name=web');
    assert.match(events, /DriftCorrected/);
    await run('--context=federation', '-n', 'shop', 'delete', 'deployment', 'web', '--timeout=120s');
    const gone = await kubectl(env, '--context=edge-1', '-n', 'shop', 'get', 'deployment', 'web');
    assert.notEqual(gone.code, 0, 'the member copy is gone before the federation object is');
  });

  test("least privilege: the agent's identity cannot write another member's status or read its copies; a token joins only its own cluster", async () => {
    await run('federation', 'token', 'create', 'edge-2');
    await run('--context=federation', '-n', 'federation-member-edge-2', 'create', 'secret', 'generic', 'placed-on-edge-2', '--from-literal=k=v');
    const secrets = await kubectlJSON<{ items: { metadata: { name: string }; data: Record<string, string> }[] }>(env, '--context=edge-1', '-n', 'federation-system', 'get', 'secrets', '-l', 'federation.kubectl-federation.io/cluster=edge-1');
    const secret = secrets.items.find((s) => s.metadata.name.endsWith('-agent-kubeconfig'))!;
    const agentKubeconfig = Buffer.from(secret.data.kubeconfig!, 'base64').toString();
    const token = /token: (\S+)/.exec(agentKubeconfig)?.[1];
    assert.ok(token, 'the agent kubeconfig holds a token');
    const fed = Kubeconfig.load(kubeconfig).resolve('federation');
    const asAgent = new RestClient({ server: fed.cluster.server, ca: Buffer.from(fed.cluster['certificate-authority-data'] ?? '', 'base64'), token }, 10_000);
    try {
      const forged = await asAgent
        .request('POST', '/api/v1/namespaces/federation-member-edge-2/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'forged', labels: { 'federation.kubectl-federation.io/report': 'true' } }, data: { report: '{}' } }, retry: false })
        .then(() => 200, (err: { status?: number }) => err.status);
      assert.equal(forged, 403, 'a forged report for another member is refused');
      const read = await asAgent.get('/api/v1/namespaces/federation-member-edge-2/secrets/placed-on-edge-2').then(() => 200, (err: { status?: number }) => err.status);
      assert.equal(read, 403, "another member's copies are not readable");
      const lease = await asAgent.get('/apis/coordination.k8s.io/v1/namespaces/federation-member-edge-1/leases/agent').then(() => 200, (err: { status?: number }) => err.status);
      assert.equal(lease, 200, 'its own heartbeat is');
    } finally {
      asAgent.close();
    }
    // edge-2's join token asks for edge-1's agent token: refused.
    const edge2 = await run('federation', 'token', 'create', 'edge-2');
    const joinTwo = /kubectl federation join edge-2 (.*)$/m.exec(edge2)![1]!.split(' ');
    const stolen = await kubectl(env, 'federation', 'join', 'edge-1', ...joinTwo, '--cluster-context=edge-1');
    assert.equal(stolen.code, 1);
    assert.match(stolen.stderr, /the join token does not join cluster "edge-1"/);
  });

  test('the agent killed while applying, and the federation out of its reach for a while: everything placed arrives', async () => {
    await run('--context=federation', 'create', 'namespace', 'batch');
    for (let i = 0; i < 6; i++) {
      await run('--context=federation', '-n', 'batch', 'create', 'configmap', `c${i}`, `--from-literal=i=${i}`);
      if (i === 2) await run('--context=edge-1', '-n', 'federation-system', 'delete', 'pod', '-l', 'app.kubernetes.io/component=agent', '--wait=false');
    }
    const inMember = async (n: number) => {
      const list = await kubectlJSON<{ items: V1ConfigMap[] }>(env, '--context=edge-1', '-n', 'batch', 'get', 'configmaps', '-l', PROPAGATED_BY_LABEL).catch(() => undefined);
      return list && list.items.length === n ? true : undefined;
    };
    await waitFor('all 6 ConfigMaps in the member after the agent restarted', () => inMember(6));
    // The federation unreachable from the member's pods: Offline after the threshold.
    const fedServer = new URL(Kubeconfig.load(kubeconfig).resolve('federation').cluster.server);
    const unblock = await refuse([['iif', MEMBER_PODS, 'to', `${fedServer.hostname}/32`]]);
    try {
      await waitFor('edge-1 not Ready', async () => ((await readyOf('edge-1'))?.status === 'False' ? true : undefined), 150_000);
      const ready = await readyOf('edge-1');
      assert.match(ready?.message ?? '', /the agent of cluster edge-1 last reported \d+s ago/);
      await run('--context=federation', '-n', 'batch', 'create', 'configmap', 'while-away', '--from-literal=k=v');
    } finally {
      await unblock();
    }
    await waitFor('edge-1 Ready again', async () => ((await readyOf('edge-1'))?.status === 'True' ? true : undefined), 150_000);
    await waitFor('what was placed meanwhile arrived', () => inMember(7), 150_000);
  });

  test("the agent renews its federation token, keeps the new one in its Secret, and goes on with it", async () => {
    const agentSecret = async () => {
      const list = await kubectlJSON<{ items: { metadata: { name: string }; data: Record<string, string> }[] }>(env, '--context=edge-1', '-n', 'federation-system', 'get', 'secrets', '-l', 'federation.kubectl-federation.io/cluster=edge-1');
      const secret = list.items.find((s) => s.metadata.name.endsWith('-agent-kubeconfig'))!;
      return /token: (\S+)/.exec(Buffer.from(secret.data.kubeconfig!, 'base64').toString())?.[1];
    };
    const before = await agentSecret();
    assert.ok(before);
    // Renewal after 0.01% of the token's week: about a minute, so the token join gave is due now.
    const deployment = (await run('--context=edge-1', '-n', 'federation-system', 'get', 'deployments', '-l', 'app.kubernetes.io/component=agent', '-o', 'name')).trim();
    await run('--context=edge-1', '-n', 'federation-system', 'patch', deployment, '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/args/-', value: '--token-renewal=0.0001' }]));
    const renewed = await waitFor('a renewed token in the Secret', async () => {
      const now = await agentSecret();
      return now && now !== before ? now : undefined;
    });
    // The Secret is written first, then the line: waited for, as the log follows the write.
    await waitFor('the renewal in the agent log', async () => (/the agent's federation token was renewed \(valid until \d{4}-/.test(agentLogTail()) ? true : undefined), 30_000);
    assert.equal(agentLogTail().includes(renewed), false, 'the token is never logged');
    // It works: the agent goes on with it (a new object arrives; the Cluster stays Ready).
    await run('--context=federation', '-n', 'batch', 'create', 'configmap', 'after-renewal', '--from-literal=k=v');
    await waitFor('the object placed after the renewal arrived', async () => ((await kubectl(env, '--context=edge-1', '-n', 'batch', 'get', 'configmap', 'after-renewal')).code === 0 ? true : undefined));
    assert.equal((await readyOf('edge-1'))?.status, 'True');
  });

  test("an agent older than the federation is named by status, and the printed join command run again upgrades it", async () => {
    const agentOf = async () => (await clusters()).items.find((c) => c.metadata.name === 'edge-1')?.status?.agent;
    await waitFor('the agent reported as current', async () => ((await agentOf())?.current === true ? true : undefined));
    // An older agent, as an earlier join would have left it: other code, and its Deployment rolled to it.
    const maps = await kubectlJSON<{ items: V1ConfigMap[] }>(env, '--context=edge-1', '-n', 'federation-system', 'get', 'configmaps', '-l', 'federation.kubectl-federation.io/cluster=edge-1');
    const code = maps.items.find((m) => m.data?.[CODE_FILE] !== undefined)!;
    // The code is larger than one argument may be: the patch goes in a file.
    const patch = join(node.dir, 'older-code.json');
    writeFileSync(patch, JSON.stringify({ data: { [CODE_FILE]: `${code.data![CODE_FILE]}\n// an older build\n` } }));
    await run('--context=edge-1', '-n', 'federation-system', 'patch', 'configmap', code.metadata!.name!, '--type=merge', `--patch-file=${patch}`);
    const deployment = (await run('--context=edge-1', '-n', 'federation-system', 'get', 'deployments', '-l', 'app.kubernetes.io/component=agent', '-o', 'name')).trim();
    await run('--context=edge-1', '-n', 'federation-system', 'patch', deployment, '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { 'federation.kubectl-federation.io/code-digest': 'older' } } } } }));
    const older = await waitFor('the older agent reported', async () => {
      const a = await agentOf();
      return a?.current === false ? a : undefined;
    });
    const status = await kubectl(env, 'federation', 'status');
    assert.equal(status.code, 1, status.stdout);
    assert.ok(status.stdout.includes(`the agent of member edge-1 runs ${older.version} (code ${older.codeDigest}), not the code of this federation's controller manager: upgrade it from the member's side: kubectl federation token create edge-1, then run the join command it prints against the member`), status.stdout);
    // The upgrade, from the member's side: a new token, the join command again.
    const again = /^ {2}(kubectl federation join edge-1 .*)$/m.exec(await run('federation', 'token', 'create', 'edge-1'))![1]!.split(' ').slice(1);
    await run(...again);
    await waitFor('the agent current again', async () => ((await agentOf())?.current === true ? true : undefined));
    assert.equal((await readyOf('edge-1'))?.status, 'True');
    await run('--context=federation', '-n', 'batch', 'create', 'configmap', 'after-upgrade', '--from-literal=k=v');
    await waitFor('the object placed after the upgrade arrived', async () => ((await kubectl(env, '--context=edge-1', '-n', 'batch', 'get', 'configmap', 'after-upgrade')).code === 0 ? true : undefined));
  });

  test('unjoin removes the agent and the Cluster; the copies go', async () => {
    const out = await run('federation', 'unjoin', 'edge-1', '--cluster-context=edge-1');
    assert.match(out, /Successfully removed cluster edge-1/);
    assert.equal((await clusters()).items.some((c) => c.metadata.name === 'edge-1'), false);
    await waitFor('the agent gone from the member', async () => ((await agentPods()).length === 0 ? true : undefined));
  });
});
