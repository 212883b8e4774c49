// Container probes as the kubelet runs them: from the node, to the pod's address. HTTPS probes do
// not verify the certificate (neither does the kubelet); a status from 200 to 399 succeeds.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createConnection } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

/** A named port (httpGet.port: "https") is the container's port of that name. */
function portOf(port: number | string | undefined, container: V1Container): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port)?.containerPort;
  const n = named ?? Number(port);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`probe port ${String(port)} is not a port of container ${container.name}`);
  return n;
}

export function runProbe(probe: V1Probe, container: V1Container, podIP: string): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  return new Promise((resolve) => {
    const fail = (reason: string) => resolve({ ok: false, reason });
    try {
      if (probe.httpGet) {
        const get = probe.httpGet;
        const request = get.scheme === 'HTTPS' ? httpsRequest : httpRequest;
        const headers = Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value]));
        const req = request(
          { host: get.host ?? podIP, port: portOf(get.port, container), path: get.path ?? '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false },
          (res) => {
            res.resume();
            const status = res.statusCode ?? 0;
            resolve(status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `HTTP probe failed with statuscode: ${status}` });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (err) => fail(`Get ${get.path ?? '/'}: ${err.message}`));
        req.end();
      } else if (probe.tcpSocket) {
        const socket = createConnection({ host: probe.tcpSocket.host ?? podIP, port: portOf(probe.tcpSocket.port, container), timeout: timeoutMs });
        socket.once('connect', () => {
          socket.destroy();
          resolve({ ok: true });
        });
        socket.once('timeout', () => socket.destroy(new Error('timeout')));
        socket.once('error', (err) => fail(`dial tcp: ${err.message}`));
      } else {
        fail('the local pod runner runs httpGet and tcpSocket probes only');
      }
    } catch (err) {
      fail((err as Error).message);
    }
  });
}
