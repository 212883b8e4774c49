// Certificates for the federation: a CA, the API server's serving certificate, client certificates,
// and the service-account signing key. Keys are made by node:crypto (native speed): ECDSA P-256 by
// default (under a millisecond each, where RSA 2048 takes 40-250 ms here), or RSA as kubeadm's
// encryptionAlgorithm allows. Each certificate is laid out here from RFC 5280's fields, encoded by
// node-forge's DER module, and signed by node:crypto: no key math runs in JavaScript.
import { createHash, createPublicKey, generateKeyPair, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type forgeTypes from 'node-forge';
// forge's DER module alone (with its util and OID table): the whole library is 290 KB of the
// bundle every command starts with, for the RSA and TLS code no certificate here needs.
import asn1Module from 'node-forge/lib/asn1.js';

const asn1 = asn1Module;
type Asn1 = forgeTypes.asn1.Asn1;
const generateKeyPairAsync = promisify(generateKeyPair);

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
  /** peer: both server and client (etcd members dial each other with one certificate). */
  usage: 'ca' | 'server' | 'client' | 'peer';
  validityMs?: number;
}

// The few ASN.1 values an X.509 certificate is made of (RFC 5280, section 4.1).
const { Class, Type } = asn1;
const seq = (items: Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items);
const oid = (id: string) => asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(id).getBytes());
const octets = (bytes: Buffer | string) => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, typeof bytes === 'string' ? bytes : bytes.toString('binary'));
const bits = (bytes: Buffer, unused = 0) => asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, String.fromCharCode(unused) + bytes.toString('binary'));
const utf8 = (text: string) => asn1.create(Class.UNIVERSAL, Type.UTF8, false, Buffer.from(text).toString('binary'));
const der = (node: Asn1) => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
const fromDer = (buf: Buffer) => asn1.fromDer(buf.toString('binary'));
/** UTCTime until 2049, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
const time = (d: Date) =>
  d.getUTCFullYear() < 2050
    ? asn1.create(Class.UNIVERSAL, Type.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/** A Name: one RDN per attribute, the common name first. */
function name(spec: CertSpec): Asn1 {
  const attr = (id: string, value: string) => asn1.create(Class.UNIVERSAL, Type.SET, true, [seq([oid(id), utf8(value)])]);
  return seq([attr(OID.commonName, spec.commonName), ...(spec.organizations ?? []).map((o) => attr(OID.organization, o))]);
}

function serialNumber(): Asn1 {
  // 16 random bytes with the top bit cleared: a positive integer, as RFC 5280 requires.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return asn1.create(Class.UNIVERSAL, Type.INTEGER, false, bytes.toString('binary'));
}

/** keyUsage's named bits (digitalSignature 0, keyEncipherment 2, keyCertSign 5, cRLSign 6), as DER wants them: no trailing zero bits. */
export function keyUsageBits(set: number[]): { bytes: Buffer; unused: number } {
  const bytes = Buffer.alloc(1);
  for (const b of set) bytes[0] = bytes[0]! | (0x80 >> b);
  const last = Math.max(...set);
  return { bytes, unused: 7 - last };
}

/** An IP address as the 4 or 16 bytes of iPAddress (RFC 5280 4.2.1.6). */
export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []).flatMap((g) => {
    // An IPv4 tail (::ffff:10.0.0.1) is two groups.
    if (g.includes('.')) {
      const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    }
    return [g];
  });
  const front = groups(head);
  const back = groups(tail);
  const all = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return seq([oid(id), ...(critical ? [asn1.create(Class.UNIVERSAL, Type.BOOLEAN, false, '\xff')] : []), octets(der(value))]);
}

/** RFC 5280 4.2.1.2 (1): the SHA-1 of the subjectPublicKey's bits (RSAPublicKey, or the EC point). */
function keyIdentifier(key: KeyObject): Buffer {
  let keyBits: Buffer;
  if (key.asymmetricKeyType === 'rsa') keyBits = key.export({ type: 'pkcs1', format: 'der' });
  else {
    const { x, y } = key.export({ format: 'jwk' });
    keyBits = Buffer.concat([Buffer.of(4), Buffer.from(x!, 'base64url'), Buffer.from(y!, 'base64url')]);
  }
  return createHash('sha1').update(keyBits).digest();
}

function extensions(spec: CertSpec, key: KeyObject): Asn1[] {
  const boolTrue = asn1.create(Class.UNIVERSAL, Type.BOOLEAN, false, '\xff');
  const usage = (set: number[]) => {
    const { bytes, unused } = keyUsageBits(set);
    return bits(bytes, unused);
  };
  if (spec.usage === 'ca') {
    return [
      extension(OID.basicConstraints, true, seq([boolTrue])),
      extension(OID.keyUsage, true, usage([0, 5, 6])),
      extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(key))),
    ];
  }
  // keyEncipherment is an RSA key exchange's; an ECDSA key only signs.
  const exts = [
    extension(OID.basicConstraints, true, seq([])),
    extension(OID.keyUsage, true, usage(key.asymmetricKeyType === 'rsa' ? [0, 2] : [0])),
    extension(OID.extKeyUsage, false, seq({ server: [OID.serverAuth], client: [OID.clientAuth], peer: [OID.serverAuth, OID.clientAuth] }[spec.usage].map(oid))),
  ];
  if (spec.altNames && spec.altNames.length > 0) {
    // GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING, both implicit.
    const general = [...new Set(spec.altNames)].map((n) =>
      isIP(n) ? asn1.create(Class.CONTEXT_SPECIFIC, 7, false, ipBytes(n).toString('binary')) : asn1.create(Class.CONTEXT_SPECIFIC, 2, false, n),
    );
    exts.push(extension(OID.subjectAltName, false, seq(general)));
  }
  return exts;
}

/** The AlgorithmIdentifier of a signature by this key: RSA with a NULL parameter, ECDSA with none (RFC 5758). */
function signatureAlgorithm(signerKey: string): { node: () => Asn1; hash: string } {
  const key = createPublicKey(signerKey);
  if (key.asymmetricKeyType === 'rsa') {
    return { node: () => seq([oid('1.2.840.113549.1.1.11'), asn1.create(Class.UNIVERSAL, Type.NULL, false, '')]), hash: 'sha256' };
  }
  if (key.asymmetricKeyType === 'ec') {
    const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    // ecdsa-with-SHA256 / ecdsa-with-SHA384: the hash sized to the curve, as Go's x509 picks it.
    return { node: () => seq([oid(p384 ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2')]), hash: p384 ? 'sha384' : 'sha256' };
  }
  throw new Error(`keys of type ${key.asymmetricKeyType ?? 'unknown'} cannot sign certificates here; use RSA or ECDSA`);
}

/** A certificate's subject Name, as the DER the issuer field of the certificates it signs must repeat. */
function subjectOf(certPem: string): Asn1 {
  const tbs = (fromDer(new X509Certificate(certPem).raw).value as Asn1[])[0]!.value as Asn1[];
  // The version ([0] EXPLICIT) is there in every v3 certificate; without it the fields shift by one.
  const offset = tbs[0]!.tagClass === Class.CONTEXT_SPECIFIC ? 1 : 0;
  return tbs[offset + 4]!;
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
  const key = createPublicKey(publicKey);
  const algorithm = signatureAlgorithm(signer.key);
  const now = Date.now();
  const subject = name(spec);
  const tbs = seq([
    asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(Class.UNIVERSAL, Type.INTEGER, false, '\x02')]), // v3
    serialNumber(),
    algorithm.node(),
    signer.cert ? subjectOf(signer.cert) : subject,
    // A little slack for clocks that run behind the one that issued the certificate.
    seq([time(new Date(now - 5 * 60 * 1000)), time(new Date(now + (spec.validityMs ?? (spec.usage === 'ca' ? 10 * YEAR_MS : YEAR_MS))))]),
    subject,
    fromDer(key.export({ type: 'spki', format: 'der' })),
    asn1.create(Class.CONTEXT_SPECIFIC, 3, true, [seq(extensions(spec, key))]),
  ]);
  const signature = sign(algorithm.hash, der(tbs), signer.key);
  const body = der(seq([tbs, algorithm.node(), bits(signature)])).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
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
