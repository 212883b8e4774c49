// `make demo`: the product's main job on local control planes. Starts `host`, `member-1` and
// `member-2`, each with a node that really runs pods (the local pod runner: every container a
// local process in its own namespaces), then runs, through kubectl's plugin discovery and printing
// each one first, the commands a user types: init, join, join, get clusters; a Deployment created
// in the federation with plain kubectl, rolled out in both members, deleted, its namespace deleted;
// unjoin, get clusters.
// Everything lives in a network namespace of the demo's own and ends with it.
import { spawn } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NODE_IMAGE } from '../shared/constants.ts';
import { Kubeconfig } from '../shared/kubeconfig.ts';
import { done, notYet, poll } from '../shared/wait.ts';
import { kubectl } from '../test/support/kubectl.ts';
import { type LocalNode, startLocalNode } from '../test/support/local-node.ts';
import { ownNetns } from '../test/support/netns.ts';
import { PLUGIN_BIN, pluginEnv } from '../test/support/plugin-path.ts';

const netns = await ownNetns(true);
if (netns.role === 'parent') process.exit(netns.code);
if (netns.role === 'unavailable') {
  console.error(`error: make demo runs the federation's pods on this machine, and ${netns.reason}: run it as root (sudo make demo)`);
  process.exit(1);
}

const say = (line = '') => console.log(line);
const names = ['host', 'member-1', 'member-2'];
const interactive = process.env.CI !== 'true' && process.stdout.isTTY;
let node: LocalNode | undefined;
let env: NodeJS.ProcessEnv | undefined;
let stopping: Promise<void> | undefined;
const cleanup = () =>
  (stopping ??= (async () => {
    await node?.stop();
    if (env) rmSync(env[PLUGIN_BIN]!, { recursive: true, force: true });
    say('Stopped the federation, its pods and the local control planes.');
  })());
// Ctrl-C at any point stops everything this demo started.
process.once('SIGINT', () => void cleanup().then(() => process.exit(finished ? 0 : 130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
process.once('SIGHUP', () => void cleanup().then(() => process.exit(129)));
let finished = false;

/** Runs a command as a user would type it, showing it first and its output as it comes. */
async function type(...args: string[]): Promise<string> {
  // Quoted as a shell would need it, so a reader can paste the line.
  say(`$ kubectl ${args.map((a) => (!/[\s'"()]/.test(a) ? a : a.includes("'") ? `"${a}"` : `'${a}'`)).join(' ')}`);
  const child = spawn('kubectl', args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    process.stdout.write(c);
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  say();
  if (code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${code}`);
  return out;
}

try {
  say(`Starting local control planes ${names.join(', ')} (etcd, kube-apiserver, kube-controller-manager v1.37.2)`);
  say('and a node on each that runs pods (the local pod runner)...');
  node = await startLocalNode({ names, memberNodes: ['member-1', 'member-2'], lifetimeMs: 12 * 3600_000 });
  const kubeconfig = join(node.dir, 'kubeconfig');
  copyFileSync(node.planes.kubeconfig, kubeconfig);
  Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
  // kubectl finds the plugin on this PATH, as a user's shell would after an install.
  env = pluginEnv(kubeconfig);
  say(`Ready in ${node.planes.startSeconds.toFixed(1)}s; node ${node.network.nodeIP}; current context: host.\n`);

  await type('federation', 'init');
  await type('federation', 'join', 'member-1');
  await type('federation', 'join', 'member-2');
  // The controller manager (a pod) marks members Ready on its next probe: show the table then.
  await poll(
    async () => {
      const out = (await kubectl(env!, 'get', 'clusters', '--no-headers')).stdout;
      const ready = out.split('\n').filter((l) => /\sTrue\s/.test(l)).length;
      return ready === 2 ? done(true) : notYet(`${ready} of 2 clusters Ready`);
    },
    { what: 'both members to be Ready', timeoutMs: 90_000, intervalMs: 500 },
  );
  await type('get', 'clusters');

  // Propagation: plain kubectl against the federation; the workload runs in both members.
  await type('create', 'namespace', 'shop');
  await type('-n', 'shop', 'create', 'deployment', 'web', `--image=${NODE_IMAGE}`, '--replicas=4', '--', 'node', '-e', "require('http').createServer((q, r) => r.end('hello')).listen(8080)");
  await type('-n', 'shop', 'rollout', 'status', 'deployment/web', '--timeout=3m');
  await type('-n', 'shop', 'get', 'deployment', 'web');
  await type('--context', 'member-1', '-n', 'shop', 'get', 'deployment', 'web');
  await type('--context', 'member-2', '-n', 'shop', 'get', 'deployment', 'web');
  await type('-n', 'shop', 'get', 'propagations');
  await type('-n', 'shop', 'delete', 'deployment', 'web');
  await type('--context', 'member-1', '-n', 'shop', 'get', 'deployments');
  await type('delete', 'namespace', 'shop', '--timeout=3m');

  await type('federation', 'unjoin', 'member-2');
  await type('get', 'clusters');

  const pods = await kubectl(env, '--context=host', '-n', 'federation-system', 'get', 'pods', '-o', 'wide');
  say('The federation control plane runs in these pods of the host cluster (each container a local process):');
  say(pods.stdout);
  say(`Container logs: ${join(node.dir, 'logs')}; the pod runner's log: ${node.runner.logFile}`);
  say('Explore from another terminal (the demo runs in a network namespace of its own; contexts federation, host, member-1, member-2):');
  const path = env.PATH!.split(delimiter).slice(0, 2).join(delimiter);
  say(`  sudo nsenter --net=/proc/${process.pid}/ns/net env KUBECONFIG=${kubeconfig} "PATH=${path}:$PATH" kubectl get clusters -o yaml`);
  finished = true;
  if (interactive) {
    say('\nPress Ctrl-C to stop everything.');
    await new Promise<never>(() => undefined);
  }
  say('\n(CI or no terminal: stopping now.)');
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  if (node) console.error(`(the pod runner's log: ${node.runner.logFile})`);
  process.exitCode = 1;
} finally {
  if (!interactive || !finished) await cleanup();
}
process.exit(process.exitCode ?? 0);
