// The certificates the controller manager can see for itself: its own client certificate and the
// federation API server's serving certificate. One within 30 days of expiry is an Event about the
// federation's kube-system namespace (Events about cluster-wide objects live in `default`) and a log
// line, each saying which command renews it.
import { connect } from 'node:tls';
import { errorMessage } from '../shared/errors.ts';
import type { EventRecorder } from './events.ts';

const WARN_DAYS = 30;

export interface KnownCertificates {
  /** The controller manager's client certificate (PEM), from its kubeconfig. */
  clientCert?: Buffer;
  /** The federation API server's URL; its serving certificate is read from a TLS handshake. */
  server: string;
  ca?: Buffer;
}

/** The API server's serving certificate's expiry, as a handshake shows it. */
function servingCertificateExpiry(server: string, ca: Buffer | undefined): Promise<Date> {
  const url = new URL(server);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 443), servername: url.hostname, ...(ca ? { ca } : {}), rejectUnauthorized: false, timeout: 10_000 }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(new Date(cert.validTo));
      else reject(new Error('the server sent no certificate'));
    });
    socket.once('timeout', () => socket.destroy(new Error('no answer within 10s')));
    socket.once('error', reject);
  });
}

export async function checkCertificates(known: KnownCertificates, events: EventRecorder, log: (line: string) => void, now = Date.now()): Promise<void> {
  const expiries: { name: string; expires: Date }[] = [];
  if (known.clientCert) {
    const { X509Certificate } = await import('node:crypto');
    expiries.push({ name: "the controller manager's client certificate", expires: new Date(new X509Certificate(known.clientCert).validTo) });
  }
  try {
    expiries.push({ name: "the federation API server's serving certificate", expires: await servingCertificateExpiry(known.server, known.ca) });
  } catch (err) {
    log(`reading the API server's certificate failed: ${errorMessage(err)}`);
  }
  for (const { name, expires } of expiries) {
    const days = Math.floor((expires.getTime() - now) / 86_400_000);
    if (days >= WARN_DAYS) continue;
    await events.record(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
      'Warning',
      'CertificateExpiring',
      `${name} ${days < 0 ? 'expired' : 'expires'} on ${expires.toISOString()} (${days} days): run kubectl federation certs renew`,
    );
  }
}
