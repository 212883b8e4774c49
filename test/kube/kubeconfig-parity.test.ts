// Kubeconfigs as users really have them: kubectl and our client code (test/kube/fixtures/whoami.ts,
// the path every command takes) are given the same kubeconfig and environment, and must reach the
// same local plane as the same user, or both refuse. Each row is one thing real kubeconfigs hold.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { memberToken } from '../support/federation.ts';
import { kubeConfigFor } from '../support/kube.ts';
import { type Planes, testPlanes } from '../support/localcluster.ts';
import { kubectlBin } from '../support/paths.ts';

const WHOAMI = join(import.meta.dirname, 'fixtures', 'whoami.ts');

let planes: Planes;
let dir: string;
let server: URL;
let caData: string;
let certData: string;
let keyData: string;
let token: string;
let connects = 0;
const servers: Server[] = [];
/** A TCP forwarder to the plane at another address (its certificate does not name that address). */
let aliasServer = '';
/** The plane at an address that is not loopback, where environment proxies apply (root only). */
let remoteServer: string | undefined;
let proxyUrl = '';

const listen = (s: Server, host: string) => new Promise<number>((resolve, reject) => s.once('error', reject).listen(0, host, () => resolve((s.address() as AddressInfo).port)));
const forwardTo = (target: URL) => createServer((socket) => socket.pipe(connect(Number(target.port), target.hostname)).pipe(socket).on('error', () => socket.destroy()));

before(async () => {
  planes = await testPlanes(['host']);
  dir = mkdtempSync(join(tmpdir(), 'kubeconfig-parity-'));
  const kc = Kubeconfig.load(planes.kubeconfig);
  const ctx = kc.resolve('host');
  server = new URL(ctx.cluster.server);
  caData = ctx.cluster['certificate-authority-data']!;
  certData = ctx.user['client-certificate-data']!;
  keyData = ctx.user['client-key-data']!;
  token = await memberToken(kubeConfigFor(planes.kubeconfig, 'host'), 'parity');
  mkdirSync(join(dir, 'pki'));
  writeFileSync(join(dir, 'pki', 'ca.crt'), Buffer.from(caData, 'base64'));
  writeFileSync(join(dir, 'pki', 'admin.crt'), Buffer.from(certData, 'base64'));
  writeFileSync(join(dir, 'pki', 'admin.key'), Buffer.from(keyData, 'base64'));
  writeFileSync(join(dir, 'pki', 'token'), token);
  // An HTTP CONNECT proxy, as corporate networks have; it counts the tunnels it opens.
  const proxy = createHttpServer();
  proxy.on('connect', (req, socket, head) => {
    connects += 1;
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  proxyUrl = `http://127.0.0.1:${await listen(proxy, '127.0.0.1')}`;
  servers.push(proxy);
  const alias = forwardTo(server);
  servers.push(alias);
  aliasServer = `https://127.0.0.3:${await listen(alias, '127.0.0.3')}`;
  // A non-loopback address in the test's own network namespace (test/run.ts made it; root only).
  if (spawnSync('ip', ['addr', 'add', '10.253.0.1/32', 'dev', 'lo']).status === 0) {
    const remote = forwardTo(server);
    servers.push(remote);
    remoteServer = `https://10.253.0.1:${await listen(remote, '10.253.0.1')}`;
  }
  // Credential plugins as EKS, GKE and AKS kubeconfigs call them, each checking what it is given.
  mkdirSync(join(dir, 'bin'));
  const credential = (apiVersion: string) => `printf '{"apiVersion":"${apiVersion}","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat ${join(dir, 'pki', 'token')})"`;
  const plugin = (name: string, body: string) => {
    writeFileSync(join(dir, 'bin', name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, 'bin', name), 0o755);
  };
  plugin('aws', `[ "$AWS_PROFILE" = prod ] || { echo "aws: no profile" >&2; exit 1; }\ncase "$*" in *"eks get-token --cluster-name prod"*) ;; *) echo "aws: bad args: $*" >&2; exit 1;; esac\n${credential('client.authentication.k8s.io/v1beta1')}`);
  plugin('gke-gcloud-auth-plugin', `case "$KUBERNETES_EXEC_INFO" in *'"server":"${server.origin}'*) ;; *) echo "gke: no cluster info" >&2; exit 1;; esac\n${credential('client.authentication.k8s.io/v1beta1')}`);
  plugin('kubelogin', `[ "$1" = get-token ] || exit 1\n${credential('client.authentication.k8s.io/v1beta1')}`);
  plugin('fails', 'echo "token expired: run the login command" >&2; exit 1');
  plugin('v1-plugin', credential('client.authentication.k8s.io/v1'));
});

after(async () => {
  for (const s of servers) s.close();
  spawnSync('ip', ['addr', 'del', '10.253.0.1/32', 'dev', 'lo']);
  await planes?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  ok: boolean;
  user?: { username: string; groups: string[] };
  stderr: string;
  proxied: boolean;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  const before = connects;
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('close', (code) => {
      const proxied = connects > before;
      if (code !== 0) return resolve({ ok: false, stderr: err, proxied });
      const parsed = JSON.parse(out) as { status?: { userInfo: { username: string; groups?: string[] } }; username?: string; groups?: string[] };
      const info = parsed.status?.userInfo ?? (parsed as { username: string; groups?: string[] });
      resolve({ ok: true, user: { username: info.username, groups: [...(info.groups ?? [])].sort() }, stderr: err, proxied });
    });
  });
}

interface Row {
  name: string;
  /** kubeconfig files, written in order; KUBECONFIG names them all when there are several. */
  files: () => object[];
  env?: NodeJS.ProcessEnv;
  flags?: string[];
  reach: boolean;
  proxied?: boolean;
  /** Skipped (with the reason) when the machine cannot show it. */
  needs?: () => string | undefined;
}

const cluster = (extra: object = {}, srv = server.origin) => ({ server: srv, 'certificate-authority-data': caData, ...extra });
const admin = () => ({ 'client-certificate-data': certData, 'client-key-data': keyData });
const config = (c: object, u: object, name = 'ctx') => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: `${name}-cluster`, cluster: c }],
  users: [{ name: `${name}-user`, user: u }],
  contexts: [{ name, context: { cluster: `${name}-cluster`, user: `${name}-user` } }],
  'current-context': name,
});
const exec = (e: object) => ({ exec: e });

const rows: Row[] = [
  { name: 'certificate and key files, paths relative to the kubeconfig', files: () => [config({ server: server.origin, 'certificate-authority': '../../pki/ca.crt' }, { 'client-certificate': '../../pki/admin.crt', 'client-key': '../../pki/admin.key' })], reach: true },
  { name: 'a bearer token', files: () => [config(cluster(), { token })], reach: true },
  { name: 'tokenFile, relative', files: () => [config(cluster(), { tokenFile: '../../pki/token' })], reach: true },
  { name: 'a server whose certificate does not name the address: refused', files: () => [config(cluster({}, aliasServer), admin())], reach: false },
  { name: 'tls-server-name naming what the certificate does', files: () => [config(cluster({ 'tls-server-name': 'kubernetes' }, aliasServer), admin())], reach: true },
  { name: 'insecure-skip-tls-verify without a CA', files: () => [config({ server: aliasServer, 'insecure-skip-tls-verify': true }, admin())], reach: true },
  { name: 'a CA that did not sign the server: refused', files: () => [config({ server: server.origin, 'certificate-authority-data': certData }, admin())], reach: false },
  { name: 'proxy-url: an HTTP CONNECT proxy', files: () => [config(cluster({ 'proxy-url': 'PROXY' }), admin())], reach: true, proxied: true },
  { name: 'proxy-url that nothing answers: refused', files: () => [config(cluster({ 'proxy-url': 'http://127.0.0.1:1' }), admin())], reach: false },
  { name: 'HTTPS_PROXY is not used for a loopback server', files: () => [config(cluster(), admin())], env: { HTTPS_PROXY: 'PROXY' }, reach: true, proxied: false },
  {
    name: 'HTTPS_PROXY for a remote server',
    files: () => [config(cluster({ 'tls-server-name': 'kubernetes' }, 'REMOTE'), admin())],
    env: { HTTPS_PROXY: 'PROXY' },
    reach: true,
    proxied: true,
    needs: () => (remoteServer ? undefined : 'needs root to add a non-loopback address'),
  },
  {
    name: 'NO_PROXY exempting the remote server by CIDR',
    files: () => [config(cluster({ 'tls-server-name': 'kubernetes' }, 'REMOTE'), admin())],
    env: { HTTPS_PROXY: 'PROXY', NO_PROXY: 'example.com,10.253.0.0/16' },
    reach: true,
    proxied: false,
    needs: () => (remoteServer ? undefined : 'needs root to add a non-loopback address'),
  },
  {
    name: 'EKS: aws eks get-token (v1beta1, args, env)',
    files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['--region', 'us-east-1', 'eks', 'get-token', '--cluster-name', 'prod', '--output', 'json'], env: [{ name: 'AWS_PROFILE', value: 'prod' }] }))],
    reach: true,
  },
  {
    name: 'GKE: gke-gcloud-auth-plugin (provideClusterInfo, interactiveMode IfAvailable)',
    files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'gke-gcloud-auth-plugin', installHint: 'Install gke-gcloud-auth-plugin', provideClusterInfo: true, interactiveMode: 'IfAvailable' }))],
    reach: true,
  },
  {
    name: 'AKS: kubelogin get-token (env: null)',
    files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'kubelogin', args: ['get-token', '--login', 'azurecli', '--server-id', '6dae42f8-4368-4678-94ff-3960e28e3630'], env: null }))],
    reach: true,
  },
  { name: 'a v1 plugin with interactiveMode Never', files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1', command: 'v1-plugin', interactiveMode: 'Never' }))], reach: true },
  { name: 'a v1 plugin without interactiveMode: refused', files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1', command: 'v1-plugin' }))], reach: false },
  { name: 'a plugin that needs a terminal when there is none: refused', files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1', command: 'v1-plugin', interactiveMode: 'Always' }))], reach: false },
  { name: 'a plugin that fails: refused', files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'fails' }))], reach: false },
  { name: 'a plugin that is not installed: refused', files: () => [config(cluster(), exec({ apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'no-such-plugin' }))], reach: false },
  { name: '"as" in the user entry: impersonation', files: () => [config(cluster(), { ...admin(), as: 'jane', 'as-groups': ['devs', 'ops'] })], reach: true },
  { name: '--as and --as-group', files: () => [config(cluster(), admin())], flags: ['--as=system:serviceaccount:default:robot', '--as-group=robots'], reach: true },
  {
    name: 'several KUBECONFIG files with the same names: the first file wins',
    files: () => [config(cluster(), admin(), 'shared'), config({ server: 'https://127.0.0.1:1' }, { token: 'nope' }, 'shared')],
    reach: true,
  },
  {
    name: 'the same files the other way round: refused',
    files: () => [config({ server: 'https://127.0.0.1:1' }, { token: 'nope' }, 'shared'), config(cluster(), admin(), 'shared')],
    reach: false,
  },
];

describe('kubeconfig parity with kubectl', () => {
  for (const row of rows) {
    test(row.name, async (t) => {
      const missing = row.needs?.();
      if (missing) return t.skip(missing);
      const caseDir = mkdtempSync(join(dir, 'case-'));
      mkdirSync(join(caseDir, 'sub'));
      const substitute = (text: string) => text.replaceAll('REMOTE', remoteServer ?? '').replaceAll('PROXY', proxyUrl);
      // Written one level down, so "../pki" resolves only relative to the file, not the cwd.
      const paths = row.files().map((f, i) => {
        const path = join(caseDir, 'sub', `config-${i}`);
        writeFileSync(path, substitute(stringify(f)));
        return path;
      });
      const env = { KUBECONFIG: paths.join(':'), ...Object.fromEntries(Object.entries(row.env ?? {}).map(([k, v]) => [k, substitute(v ?? '')])) };
      const flags = row.flags ?? [];
      const theirs = await run(kubectlBin, ['auth', 'whoami', '-o', 'json', '--request-timeout=10s', ...flags], env);
      const ours = await run(process.execPath, [WHOAMI, ...flags], env);
      assert.equal(theirs.ok, row.reach, `kubectl: ${theirs.stderr}`);
      assert.equal(ours.ok, row.reach, `ours: ${ours.stderr}`);
      if (row.reach) assert.deepEqual(ours.user, theirs.user, 'the same identity');
      else {
        const lines = ours.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line: ${ours.stderr}`);
        assert.match(lines[0]!, /^error: /);
      }
      if (row.proxied !== undefined) {
        assert.equal(theirs.proxied, row.proxied, 'kubectl and the proxy');
        assert.equal(ours.proxied, row.proxied, 'ours and the proxy');
      }
    });
  }
});
