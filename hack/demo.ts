// `make demo`: the product's main job on local control planes. Today it starts the planes the
// federation commands will run against (host, member-1, member-2) and leaves them for exploring.
import { rmSync } from 'node:fs';
import { startPlanes } from '../test/support/localcluster.ts';

const names = ['host', 'member-1', 'member-2'];
console.log(`Starting local control planes ${names.join(', ')}...`);
const planes = await startPlanes(names);
console.log(`Ready in ${planes.startSeconds.toFixed(1)}s.\n`);
console.log('Explore them with:');
console.log(`  export KUBECONFIG=${planes.kubeconfig}`);
console.log('  . hack/env.sh && kubectl config get-contexts\n');

const stop = async () => {
  await planes.stop();
  rmSync(planes.dir, { recursive: true, force: true });
  console.log('Stopped the local control planes.');
};
if (process.env.CI === 'true' || !process.stdout.isTTY) {
  await stop();
} else {
  console.log('Press Ctrl-C to stop them.');
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await stop();
}
