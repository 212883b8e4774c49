// init --ha's own work, on a host of three nodes whose pods really run (the pod runner, in a network
// namespace of this run's own): what `make bench` reports against the 400 ms target for an HA
// plane. Run by test/bench/run.ts as a child process; prints its lines on stdout.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { initConfigFromFlags } from '../../shared/init/options.ts';
import { runInit } from '../../shared/init/init.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { Output } from '../../shared/output.ts';
import { startLocalNode } from '../support/local-node.ts';
import { ownNetns } from '../support/netns.ts';
import { kubectlBin } from '../support/paths.ts';

const netns = await ownNetns(false);
if (netns.role === 'parent') process.exit(netns.code);
if (netns.role === 'unavailable') {
  console.log(`  init --ha: not measured (${netns.reason})`);
  process.exit(0);
}
const fmt = (n: number) => n.toFixed(0);
const node = await startLocalNode({ names: ['host'], hostNodes: 3, lifetimeMs: 10 * 60_000 });
try {
  const kubeconfig = join(node.dir, 'kubeconfig');
  copyFileSync(node.planes.kubeconfig, kubeconfig);
  const kc = Kubeconfig.load(kubeconfig);
  const cfg = initConfigFromFlags({ name: 'bench-ha', hostContext: 'host', namespace: 'bench-ha-system', ha: true });
  const quiet = new Output({ stream: process.stdout, quiet: true });
  const init = await runInit({ cfg, kubeconfig: kc, hostContext: kc.resolve('host'), dryRun: false, requestTimeoutMs: 30_000, out: quiet });
  const own = init.elapsedMs - init.waitedMs;
  const dry = await runInit({ cfg: { ...cfg, namespace: 'bench-ha-peer' }, kubeconfig: kc, hostContext: kc.resolve('host'), dryRun: true, requestTimeoutMs: 30_000, out: quiet });
  const hostObjects = dry.objects.filter((o) => o.apiVersion !== 'apiextensions.k8s.io/v1' && !o.kind.startsWith('Cluster'));
  const file = join(mkdtempSync(join(tmpdir(), 'bench-ha-')), 'objects.yaml');
  writeFileSync(file, hostObjects.map((o) => stringify(o)).join('---\n'));
  const began = performance.now();
  const applied = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', 'host', 'apply', '--server-side', '-f', file], { encoding: 'utf8' });
  const peer = performance.now() - began;
  if (applied.status !== 0) throw new Error(applied.stderr);
  console.log(`  init --ha (3 etcd members, 2 API servers, 2 controller managers; pods really running on 3 nodes): ${init.requests - init.waitRequests} API requests of its own; own work ${fmt(own)} ms (total ${fmt(init.elapsedMs)} ms, of which waiting on the cluster ${fmt(init.waitedMs)} ms)`);
  console.log(`  peer: kubectl apply --server-side of the same ${hostObjects.length} host objects: ${fmt(peer)} ms; ratio ${(own / peer).toFixed(2)}x (target: own work < 400 ms for an HA plane)`);
} finally {
  await node.stop();
}
process.exit(0);
