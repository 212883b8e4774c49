// Simulated member clusters for the controller benchmark: N small HTTPS endpoints on loopback that
// answer /readyz with "ok" to a bearer token, as a member's API server would. Run as a process of
// its own so the controller's CPU and memory are measured alone. Prints one JSON line (ports, CA).
import { createServer } from 'node:https';
import { newCertificateAuthority, newSignedCertificate } from '../../shared/pki.ts';

const count = Number(process.argv[2] ?? '500');
// RSA, as the members' own clusters (kubeadm's default) serve: the controller manager verifies these.
const ca = await newCertificateAuthority('sim-members', 'RSA-2048');
const serving = await newSignedCertificate({ commonName: 'sim-member', usage: 'server', altNames: ['127.0.0.1'] }, ca, 'RSA-2048');
const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const server = createServer({ cert: serving.cert, key: serving.key, keepAliveTimeout: 60_000 }, (req, res) => {
    if (req.headers.authorization !== 'Bearer sim-token') return res.writeHead(401).end('Unauthorized');
    if (req.url === '/readyz' || req.url === '/healthz') return res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    if (req.url?.startsWith('/api/v1/nodes')) {
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"items":[{"metadata":{"labels":{"topology.kubernetes.io/zone":"z1","topology.kubernetes.io/region":"r1"}}}]}');
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports.push((server.address() as { port: number }).port);
}
process.stdout.write(`${JSON.stringify({ ports, ca: ca.cert })}\n`);
// Ends with its parent: the benchmark closes stdin when it is done.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
