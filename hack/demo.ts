// `make demo`: the product's main job on local control planes. Starts `host`, `member-1` and
// `member-2`, then runs, through kubectl's plugin discovery and printing each one first, the
// commands a user types: init, join, join, get clusters, unjoin, get clusters.
//
// Until the local pod runner exists, the parts of a cluster that localcluster lacks are played
// here, as in the tests: the load balancer and the API server's pod (test/support/stand-ins.ts),
// and the controller manager runs as a local process from the very code init ships.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kubeconfig } from '../shared/kubeconfig.ts';
import { done, notYet, poll } from '../shared/wait.ts';
import { kubeconfigFor, type RunningController, startController } from '../test/support/federation.ts';
import { kubeConfigFor } from '../test/support/kube.ts';
import { startPlanes } from '../test/support/localcluster.ts';
import { PLUGIN_BIN, pluginEnv } from '../test/support/plugin-path.ts';
import { playLoadBalancer, playPod, podIP, type StandInPod } from '../test/support/stand-ins.ts';

const say = (line = '') => console.log(line);
const names = ['host', 'member-1', 'member-2'];
say(`Starting local control planes ${names.join(', ')} (etcd, kube-apiserver, kube-controller-manager v1.37.2)...`);
const planes = await startPlanes(names);
const dir = mkdtempSync(join(tmpdir(), 'kubectl-federation-demo-'));
const kubeconfig = join(dir, 'kubeconfig');
copyFileSync(planes.kubeconfig, kubeconfig);
Kubeconfig.load(kubeconfig).write({ currentContext: 'host' });
// kubectl finds the plugin on this PATH, as a user's shell would after an install.
const env = pluginEnv(kubeconfig);
say(`Ready in ${planes.startSeconds.toFixed(1)}s; current context: host.\n`);

let pod: StandInPod | undefined;
let lb: { close(cb: () => void): void } | undefined;
let controller: RunningController | undefined;
const cleanup = async () => {
  await controller?.stop();
  await pod?.stop();
  await new Promise<void>((r) => (lb ? lb.close(() => r()) : r()));
  await planes.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(env[PLUGIN_BIN]!, { recursive: true, force: true });
};

/** Runs a command as a user would type it, showing it first and its output as it comes. */
async function type(...args: string[]): Promise<string> {
  say(`$ kubectl ${args.join(' ')}`);
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
  const host = kubeConfigFor(kubeconfig, 'host');
  const ip = podIP();
  const standIns = (async () => {
    lb = await playLoadBalancer(host, 'federation-system', 'apiserver', ip);
    pod = await playPod(host, 'federation-system', 'apiserver', ip);
  })();
  await type('federation', 'init');
  await standIns;
  controller = await startController([
    `--kubeconfig=${kubeconfigFor(kubeconfig, 'federation')}`,
    `--host-kubeconfig=${kubeconfigFor(kubeconfig, 'host')}`,
    '--federation-namespace=federation-system',
    '--leader-elect=false',
    '--healthz-port=0',
  ]);
  say('(The federation controller manager runs here as a local process, from the code init shipped in its ConfigMap.)\n');
  await type('federation', 'join', 'member-1');
  await type('federation', 'join', 'member-2');
  await poll(
    async () => {
      const out = await new Promise<string>((resolve) => {
        const c = spawn('kubectl', ['get', 'clusters', '--no-headers'], { env });
        let s = '';
        c.stdout.on('data', (d: Buffer) => (s += d.toString()));
        c.once('close', () => resolve(s));
      });
      const ready = out.split('\n').filter((l) => /\sTrue\s/.test(l)).length;
      return ready === 2 ? done(true) : notYet(`${ready} of 2 clusters Ready`);
    },
    { what: 'both members to be Ready', timeoutMs: 60_000, intervalMs: 500 },
  );
  await type('get', 'clusters');
  await type('federation', 'unjoin', 'member-2');
  await type('get', 'clusters');
  say('The federation runs. Explore it (contexts federation, host, member-1, member-2):');
  say(`  export KUBECONFIG=${kubeconfig} PATH=${env.PATH}`);
  say('  kubectl get clusters -o yaml');
  if (process.env.CI === 'true' || !process.stdout.isTTY) {
    say('\n(CI or no terminal: stopping now.)');
  } else {
    say('\nPress Ctrl-C to stop everything.');
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  }
} finally {
  await cleanup();
  say('Stopped the local control planes.');
}
process.exit(0);
