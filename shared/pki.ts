// Certificates for the federation: a CA, the API server's serving certificate, client certificates,
// and the service-account signing key. Keys are RSA 2048 made by node:crypto (native speed);
// node-forge lays out each certificate and node:crypto signs it, so no RSA math runs in JavaScript.
import { generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

// forge exports getTBSCertificate (the part of a certificate that is signed); its types omit it.
const forgeX509 = forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

export interface KeyPairPem {
  privateKey: string;
  publicKey: string;
}

export interface CertAndKey {
  cert: string;
  key: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** RSA 2048 in PKCS#8 / SPKI PEM; generated on libuv's thread pool so several run at once. */
export async function newKeyPair(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey, publicKey };
}

export interface CertSpec {
  commonName: string;
  organizations?: string[];
  /** DNS names and IP addresses, told apart by their form. */
  altNames?: string[];
  usage: 'ca' | 'server' | 'client';
  validityMs?: number;
}

function serialNumber(): string {
  // 16 random bytes with the top bit cleared: a positive integer, as RFC 5280 requires.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function extensions(spec: CertSpec): object[] {
  const exts: object[] = [];
  if (spec.usage === 'ca') {
    exts.push({ name: 'basicConstraints', cA: true, critical: true });
    exts.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true });
    exts.push({ name: 'subjectKeyIdentifier' });
    return exts;
  }
  exts.push({ name: 'basicConstraints', cA: false, critical: true });
  exts.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
  exts.push({ name: 'extKeyUsage', serverAuth: spec.usage === 'server', clientAuth: spec.usage === 'client' });
  if (spec.altNames && spec.altNames.length > 0) {
    exts.push({
      name: 'subjectAltName',
      // type 2: dNSName, type 7: iPAddress (forge encodes the address from `ip`)
      altNames: [...new Set(spec.altNames)].map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    });
  }
  return exts;
}

/**
 * Issues a certificate for publicKey, signed by issuer (or self-signed with signerKey when issuer
 * is undefined, for a CA).
 */
export function issueCertificate(
  spec: CertSpec,
  publicKey: string,
  signer: { cert?: string; key: string },
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serialNumber();
  const now = Date.now();
  // A little slack for clocks that run behind the one that issued the certificate.
  cert.validity.notBefore = new Date(now - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now + (spec.validityMs ?? (spec.usage === 'ca' ? 10 * YEAR_MS : YEAR_MS)));
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: spec.commonName }];
  for (const o of spec.organizations ?? []) subject.push({ name: 'organizationName', value: o });
  cert.setSubject(subject);
  cert.setIssuer(signer.cert ? forge.pki.certificateFromPem(signer.cert).subject.attributes : subject);
  cert.setExtensions(extensions(spec));
  const oid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.siginfo.algorithmOid = oid;
  cert.signatureOid = oid;
  const tbs = forge.asn1.toDer(forgeX509.getTBSCertificate(cert)).getBytes();
  cert.signature = sign('sha256', Buffer.from(tbs, 'binary'), signer.key).toString('binary');
  return forge.pki.certificateToPem(cert);
}

/** A new CA: its certificate and key. */
export async function newCertificateAuthority(commonName: string): Promise<CertAndKey> {
  const keys = await newKeyPair();
  return { cert: issueCertificate({ commonName, usage: 'ca' }, keys.publicKey, { key: keys.privateKey }), key: keys.privateKey };
}

/** A new key and a certificate for it signed by ca. */
export async function newSignedCertificate(spec: CertSpec, ca: CertAndKey): Promise<CertAndKey> {
  const keys = await newKeyPair();
  return { cert: issueCertificate(spec, keys.publicKey, ca), key: keys.privateKey };
}

/** The DNS names and IP addresses a certificate is valid for. */
export function subjectAltNames(certPem: string): string[] {
  const sans = new X509Certificate(certPem).subjectAltName ?? '';
  return sans
    .split(', ')
    .filter((s) => s !== '')
    .map((s) => s.replace(/^(DNS:|IP Address:)/, ''));
}

/** True when cert was signed by ca and is valid now. */
export function isSignedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  const now = Date.now();
  return cert.checkIssued(ca) && cert.verify(ca.publicKey) && Date.parse(cert.validTo) > now;
}
