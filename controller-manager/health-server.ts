// /healthz for the controller manager's own liveness and readiness probes, and /probes: when each
// member was last probed, from memory (`kubectl federation status` reads it through the host's pod
// proxy; the Cluster's lastProbeTime is written only when something changes, or every few minutes,
// so that thousands of members do not cost a write each per period).
import { createServer, type Server } from 'node:http';

export function serveHealth(port: number, address: string, healthy: () => string | undefined, probes: () => Record<string, unknown> = () => ({})): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/probes') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(probes()));
      return;
    }
    if (req.url !== '/healthz' && req.url !== '/readyz' && req.url !== '/livez') {
      res.writeHead(404).end('not found\n');
      return;
    }
    const problem = healthy();
    res.writeHead(problem ? 500 : 200, { 'Content-Type': 'text/plain' }).end(problem ? `${problem}\n` : 'ok');
  });
  return new Promise((resolve, reject) => server.listen(port, address, () => resolve(server)).once('error', reject));
}
