// Certificates as OpenSSL reads and verifies them, for every key type init can make, and across
// types (an RSA CA from an older init signing ECDSA leaves).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ENCRYPTION_ALGORITHMS, type EncryptionAlgorithm, isSignedBy, newCertificateAuthority, newSignedCertificate, subjectAltNames } from '../../shared/pki.ts';

const dir = mkdtempSync(join(tmpdir(), 'pki-test-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

async function checkPair(caAlgorithm: EncryptionAlgorithm, leafAlgorithm: EncryptionAlgorithm): Promise<void> {
  const ca = await newCertificateAuthority('test-ca', caAlgorithm);
  const server = await newSignedCertificate({ commonName: 'federation-apiserver', usage: 'server', altNames: ['10.0.0.1', 'apiserver.example'] }, ca, leafAlgorithm);
  const client = await newSignedCertificate({ commonName: 'admin', organizations: ['admins'], usage: 'client' }, ca, leafAlgorithm);
  const tag = `${caAlgorithm}-${leafAlgorithm}`;
  const caFile = file(`${tag}-ca.pem`, ca.cert);
  for (const [name, pair, purpose] of [['server', server, 'sslserver'], ['client', client, 'sslclient']] as const) {
    const certFile = file(`${tag}-${name}.pem`, pair.cert);
    assert.match(openssl('verify', '-purpose', purpose, '-CAfile', caFile, certFile), /: OK/, `${tag} ${name}`);
    // The key is the certificate's: OpenSSL derives the same public key from both.
    const fromCert = openssl('x509', '-in', certFile, '-noout', '-pubkey');
    const fromKey = openssl('pkey', '-in', file(`${tag}-${name}.key`, pair.key), '-pubout');
    assert.equal(fromCert, fromKey, `${tag} ${name} key`);
    assert.ok(isSignedBy(pair.cert, ca.cert));
  }
  const text = openssl('x509', '-in', file(`${tag}-server.pem`, server.cert), '-noout', '-text');
  assert.match(text, caAlgorithm.startsWith('RSA') ? /Signature Algorithm: sha256WithRSAEncryption/ : /Signature Algorithm: ecdsa-with-SHA(256|384)/);
  assert.match(text, leafAlgorithm.startsWith('RSA') ? /Digital Signature, Key Encipherment/ : /Digital Signature\n/);
  assert.match(text, /Subject: CN ?= ?federation-apiserver/);
  assert.match(text, /Issuer: CN ?= ?test-ca/);
  assert.deepEqual(subjectAltNames(server.cert), ['10.0.0.1', 'apiserver.example']);
  const caText = openssl('x509', '-in', caFile, '-noout', '-text');
  assert.match(caText, /CA:TRUE/);
  // The CA's key identifier is the one OpenSSL computes for the same key (RFC 5280 4.2.1.2 (1)).
  const skiOf = (text: string) => text.match(/Subject Key Identifier: *\n *([0-9A-F:]+)/)?.[1];
  const theirs = openssl('req', '-x509', '-new', '-key', file(`${tag}-ca.key`, ca.key), '-subj', '/CN=openssl', '-addext', 'subjectKeyIdentifier=hash', '-days', '1');
  assert.match(skiOf(caText) ?? '', /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
  assert.equal(skiOf(caText), skiOf(openssl('x509', '-in', file(`${tag}-openssl.pem`, theirs), '-noout', '-text')), `${tag} subject key identifier`);
}

for (const algorithm of ENCRYPTION_ALGORITHMS.filter((a) => a !== 'RSA-4096' && a !== 'RSA-3072')) {
  test(`${algorithm}: a CA, a server and a client certificate OpenSSL verifies`, () => checkPair(algorithm, algorithm));
}

test('an RSA CA (from an older init) signs ECDSA certificates, and an ECDSA CA signs RSA ones', async () => {
  await checkPair('RSA-2048', 'ECDSA-P256');
  await checkPair('ECDSA-P256', 'RSA-2048');
});

test('a certificate of another CA is not taken as signed by this one', async () => {
  const [a, b] = await Promise.all([newCertificateAuthority('a'), newCertificateAuthority('b')]);
  const leaf = await newSignedCertificate({ commonName: 'x', usage: 'client' }, a);
  assert.ok(isSignedBy(leaf.cert, a.cert));
  assert.ok(!isSignedBy(leaf.cert, b.cert));
});

test('names, usages and dates as OpenSSL reads them: IPv4 and IPv6 addresses, DNS names, key usages, a validity past 2049', async () => {
  const ca = await newCertificateAuthority('test-ca');
  const server = await newSignedCertificate({ commonName: 'srv', usage: 'server', altNames: ['10.1.2.3', 'fd00::1', '::ffff:192.0.2.1', '2001:db8:1:2:3:4:5:6', 'a.example'], validityMs: 40 * 365 * 24 * 3600 * 1000 }, ca);
  const text = openssl('x509', '-in', file('names.pem', server.cert), '-noout', '-text');
  assert.match(text, /IP Address:10\.1\.2\.3, IP Address:FD00:0:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:C000:201, IP Address:2001:DB8:1:2:3:4:5:6, DNS:a\.example/);
  assert.match(text, /X509v3 Extended Key Usage: *\n *TLS Web Server Authentication\n/);
  assert.match(text, /X509v3 Key Usage: critical\n *Digital Signature\n/);
  assert.match(text, /X509v3 Basic Constraints: critical\n *CA:FALSE/);
  assert.match(text, /Not After : .* 20(6[5-9]) GMT/, 'GeneralizedTime from 2050 on');
  const client = await newSignedCertificate({ commonName: 'admin', organizations: ['admins', 'others'], usage: 'client' }, ca);
  const clientText = openssl('x509', '-in', file('client.pem', client.cert), '-noout', '-text');
  assert.match(clientText, /Subject: CN ?= ?admin, O ?= ?admins, O ?= ?others/);
  assert.match(clientText, /TLS Web Client Authentication/);
  const caText = openssl('x509', '-in', file('ca-usage.pem', ca.cert), '-noout', '-text');
  assert.match(caText, /X509v3 Key Usage: critical\n *Digital Signature, Certificate Sign, CRL Sign\n/);
});

test("an etcd peer certificate serves and dials: OpenSSL verifies it for both purposes", async () => {
  const ca = await newCertificateAuthority('etcd-ca');
  const peer = await newSignedCertificate({ commonName: 'etcd', usage: 'peer', altNames: ['etcd-0.etcd.ns.svc', '127.0.0.1'] }, ca);
  const caFile = file('peer-ca.pem', ca.cert);
  const certFile = file('peer.pem', peer.cert);
  for (const purpose of ['sslserver', 'sslclient']) assert.match(openssl('verify', '-purpose', purpose, '-CAfile', caFile, certFile), /: OK/, purpose);
  assert.match(openssl('x509', '-in', certFile, '-noout', '-text'), /TLS Web Server Authentication, TLS Web Client Authentication/);
});
