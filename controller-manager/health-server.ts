// /healthz for the controller manager's own liveness and readiness probes.
import { createServer, type Server } from 'node:http';

export function serveHealth(port: number, address: string, healthy: () => string | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/healthz' && req.url !== '/readyz' && req.url !== '/livez') {
      res.writeHead(404).end('not found\n');
      return;
    }
    const problem = healthy();
    res.writeHead(problem ? 500 : 200, { 'Content-Type': 'text/plain' }).end(problem ? `${problem}\n` : 'ok');
  });
  return new Promise((resolve, reject) => server.listen(port, address, () => resolve(server)).once('error', reject));
}
