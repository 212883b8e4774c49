// Certificates for the federation: a CA, the API server's serving certificate, client certificates,
// and the service-account signing key. Keys are made by node:crypto (native speed): ECDSA P-256 by
// default (under a millisecond each, where RSA 2048 takes 40-250 ms here), or RSA as kubeadm's
// encryptionAlgorithm allows. node-forge lays out each certificate; node:crypto signs it, so no key
// math runs in JavaScript.
import { createHash, createPublicKey, generateKeyPair, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

// forge exports getTBSCertificate (the part of a certificate that is signed); its types omit it.
const forgeX509 = forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

/** kubeadm's names for key types (ClusterConfiguration.encryptionAlgorithm). */
export const ENCRYPTION_ALGORITHMS = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096'] as const;
export type EncryptionAlgorithm = (typeof ENCRYPTION_ALGORITHMS)[number];
export const DEFAULT_ENCRYPTION_ALGORITHM: EncryptionAlgorithm = 'ECDSA-P256';

export interface KeyPairPem {
  privateKey: string;
  publicKey: string;
}

export interface CertAndKey {
  cert: string;
  key: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A key pair in PKCS#8 / SPKI PEM; generated on libuv's thread pool so several run at once. */
export async function newKeyPair(algorithm: EncryptionAlgorithm = DEFAULT_ENCRYPTION_ALGORITHM): Promise<KeyPairPem> {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const [family, size] = algorithm.split('-') as ['ECDSA' | 'RSA', string];
  if (family === 'RSA') return generateKeyPairAsync('rsa', { modulusLength: Number(size), publicKeyEncoding, privateKeyEncoding });
  return generateKeyPairAsync('ec', { namedCurve: size === 'P384' ? 'P-384' : 'P-256', publicKeyEncoding, privateKeyEncoding });
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

const { asn1 } = forge;
const der = (node: forge.asn1.Asn1) => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
const fromDer = (buf: Buffer) => asn1.fromDer(buf.toString('binary'));

/** RFC 5280 4.2.1.2 (1): the SHA-1 of the subjectPublicKey's bits (RSAPublicKey, or the EC point). */
function keyIdentifier(key: KeyObject): string {
  let bits: Buffer;
  if (key.asymmetricKeyType === 'rsa') bits = key.export({ type: 'pkcs1', format: 'der' });
  else {
    const { x, y } = key.export({ format: 'jwk' });
    bits = Buffer.concat([Buffer.of(4), Buffer.from(x!, 'base64url'), Buffer.from(y!, 'base64url')]);
  }
  return createHash('sha1').update(bits).digest('binary');
}

function extensions(spec: CertSpec, key: KeyObject): object[] {
  const exts: object[] = [];
  if (spec.usage === 'ca') {
    exts.push({ name: 'basicConstraints', cA: true, critical: true });
    exts.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true });
    exts.push({ name: 'subjectKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, keyIdentifier(key)) });
    return exts;
  }
  exts.push({ name: 'basicConstraints', cA: false, critical: true });
  // keyEncipherment is an RSA key exchange's; an ECDSA key only signs.
  exts.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: key.asymmetricKeyType === 'rsa', critical: true });
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

/** The AlgorithmIdentifier of a signature by this key: RSA with a NULL parameter, ECDSA with none (RFC 5758). */
function signatureAlgorithm(signerKey: string): { node: forge.asn1.Asn1; hash: string } {
  const key = createPublicKey(signerKey);
  const oid = (id: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
  if (key.asymmetricKeyType === 'rsa') {
    return { node: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [oid('1.2.840.113549.1.1.11'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]), hash: 'sha256' };
  }
  if (key.asymmetricKeyType === 'ec') {
    const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    // ecdsa-with-SHA256 / ecdsa-with-SHA384: the hash sized to the curve, as Go's x509 picks it.
    return { node: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [oid(p384 ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2')]), hash: p384 ? 'sha384' : 'sha256' };
  }
  throw new Error(`keys of type ${key.asymmetricKeyType ?? 'unknown'} cannot sign certificates here; use RSA or ECDSA`);
}

/** A certificate's subject Name, as the DER the issuer field of the certificates it signs must repeat. */
function subjectOf(certPem: string): forge.asn1.Asn1 {
  const tbs = (fromDer(new X509Certificate(certPem).raw).value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];
  // The version ([0] EXPLICIT) is there in every v3 certificate; without it the fields shift by one.
  const offset = tbs[0]!.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  return tbs[offset + 4]!;
}

// forge lays out a TBSCertificate only around an RSA key of its own: it gets this stand-in, and
// the real SubjectPublicKeyInfo (any algorithm) replaces it in the tree before signing.
const standInKey = forge.pki.rsa.setPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('3'));

/**
 * Issues a certificate for publicKey, signed by issuer (or self-signed with signerKey when issuer
 * is undefined, for a CA).
 */
export function issueCertificate(
  spec: CertSpec,
  publicKey: string,
  signer: { cert?: string; key: string },
): string {
  const key = createPublicKey(publicKey);
  const spki = fromDer(key.export({ type: 'spki', format: 'der' }));
  const cert = forge.pki.createCertificate();
  cert.publicKey = standInKey;
  cert.serialNumber = serialNumber();
  const now = Date.now();
  // A little slack for clocks that run behind the one that issued the certificate.
  cert.validity.notBefore = new Date(now - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now + (spec.validityMs ?? (spec.usage === 'ca' ? 10 * YEAR_MS : YEAR_MS)));
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: spec.commonName }];
  for (const o of spec.organizations ?? []) subject.push({ name: 'organizationName', value: o });
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions(extensions(spec, key));
  const algorithm = signatureAlgorithm(signer.key);
  // forge writes an algorithm in the TBS from this; it is replaced by the signer's below.
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  const tbs = forgeX509.getTBSCertificate(cert);
  const fields = tbs.value as forge.asn1.Asn1[];
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
  fields[2] = algorithm.node;
  if (signer.cert) fields[3] = subjectOf(signer.cert);
  fields[6] = spki;
  const tbsDer = der(tbs);
  const signature = sign(algorithm.hash, tbsDer, signer.key);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm.node,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\x00${signature.toString('binary')}`),
  ]);
  const body = der(certificate).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** A new CA: its certificate and key. */
export async function newCertificateAuthority(commonName: string, algorithm?: EncryptionAlgorithm): Promise<CertAndKey> {
  const keys = await newKeyPair(algorithm);
  return { cert: issueCertificate({ commonName, usage: 'ca' }, keys.publicKey, { key: keys.privateKey }), key: keys.privateKey };
}

/** A new key and a certificate for it signed by ca. */
export async function newSignedCertificate(spec: CertSpec, ca: CertAndKey, algorithm?: EncryptionAlgorithm): Promise<CertAndKey> {
  const keys = await newKeyPair(algorithm);
  return { cert: issueCertificate(spec, keys.publicKey, ca), key: keys.privateKey };
}

/** The type of an existing key, so a renewal keeps it (undefined: unreadable, or a type init does not make). */
export function algorithmOf(keyPem: string | undefined): EncryptionAlgorithm | undefined {
  if (!keyPem) return undefined;
  try {
    const key = createPublicKey(keyPem);
    const details = key.asymmetricKeyDetails;
    const name = key.asymmetricKeyType === 'rsa'
      ? `RSA-${details?.modulusLength}`
      : `ECDSA-${details?.namedCurve === 'secp384r1' ? 'P384' : details?.namedCurve === 'prime256v1' ? 'P256' : '?'}`;
    return (ENCRYPTION_ALGORITHMS as readonly string[]).includes(name) ? (name as EncryptionAlgorithm) : undefined;
  } catch {
    return undefined;
  }
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
