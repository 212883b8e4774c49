// The shipped executables (make dist): run through kubectl's plugin discovery, run directly,
// completed through kubectl, installed by real krew from the release archives, and checked for
// what cannot run here (macOS signatures, the injected blob of every platform).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { kubectlBin, repoRoot, toolsBin } from '../support/paths.ts';

const bin = (platform: string) => join(repoRoot, 'dist', 'bin', platform);
const release = join(repoRoot, 'dist', 'release');
const kubeconfig = process.env.LOCALCLUSTER_DIR ? join(process.env.LOCALCLUSTER_DIR, 'kubeconfig') : '/dev/null';

/** A PATH holding our kubectl, the given directories, and nothing of the machine's own plugins. */
function pathWith(...dirs: string[]): NodeJS.ProcessEnv {
  return { PATH: [join(kubectlBin, '..'), ...dirs, '/usr/bin', '/bin'].join(delimiter), HOME: process.env.HOME, KUBECONFIG: kubeconfig };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(command, args, { env, encoding: 'utf8', timeout: 60_000 });
}

describe('the linux/amd64 executables', () => {
  test('through kubectl plugin discovery: init --help and join --help', () => {
    const env = pathWith(bin('linux-x64'));
    const init = run('kubectl', ['federation', 'init', '--help'], env);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, /\$ kubectl federation init \[/);
    assert.equal(init.stderr, '', 'nothing on stderr: no warnings at start');
    assert.ok(!init.stdout.includes('\u001b['), 'no colours when not on a terminal');
    const join_ = run('kubectl', ['federation', 'join', '--help'], env);
    assert.equal(join_.status, 0, join_.stderr);
    assert.match(join_.stdout, /\$ kubectl federation join <CLUSTER>/);
    assert.match(join_.stdout, /Examples\n[^]*\$ kubectl federation join mycluster\n/);
  });

  test('kubectl federation alone lists the subcommands; --version; an unknown subcommand is a usage error', () => {
    const env = pathWith(bin('linux-x64'));
    const list = run('kubectl', ['federation'], env);
    assert.equal(list.status, 0, list.stderr);
    for (const sub of ['init', 'join', 'unjoin']) assert.match(list.stdout, new RegExp(`^ {2}${sub} +[A-Z]`, 'm'));
    assert.match(list.stdout, /^ {2}kubectl federation <command> \[flags\]$/m);
    assert.equal(run('kubectl', ['federation', '--help'], env).stdout, list.stdout);
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    assert.match(run(join(bin('linux-x64'), 'kubectl-federation'), ['--version'], env).stdout, new RegExp(`^kubectl-federation ${version.replaceAll('.', '\\.')}\nDeploys: kube-apiserver v1\\.37\\.2, etcd 3\\.7\\.0, controller manager on docker\\.io/library/node:22\\.23\\.2-slim\nNode\\.js: v22\\.23\\.2\n$`));
    const json = JSON.parse(run(join(bin('linux-x64'), 'kubectl-federation'), ['version', '-o', 'json'], env).stdout) as { plugin: string; kubernetes: string; etcd: string; nodejs: string };
    assert.deepEqual([json.plugin, json.kubernetes, json.etcd, json.nodejs], [version, 'v1.37.2', '3.7.0', '22.23.2']);
    const bad = run(join(bin('linux-x64'), 'kubectl-federation'), ['bogus'], env);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), `error: unknown command "bogus" for "kubectl federation" (see 'kubectl federation --help')`);
    // certs is a group: listed once per command, and `certs` alone (or --help) has its own list.
    assert.match(list.stdout, /^ {2}certs check-expiration +List/m);
    assert.match(list.stdout, /^ {2}certs renew +Renew/m);
    assert.equal(list.stdout.match(/^ {2}certs /gm)?.length, 2);
    for (const args of [['federation', 'certs'], ['federation', 'certs', '--help']]) {
      const certs = run('kubectl', args, env);
      assert.equal(certs.status, 0, certs.stderr);
      assert.match(certs.stdout, /^Check and renew the certificates init made\.\n/);
      assert.match(certs.stdout, /^ {2}check-expiration +List[^]*^ {2}renew +Renew/m);
      assert.match(certs.stdout, /^ {2}kubectl federation certs <command> \[flags\]$/m);
    }
    const badCerts = run(join(bin('linux-x64'), 'kubectl-federation'), ['certs', 'bogus'], env);
    assert.equal(badCerts.status, 2);
    assert.equal(badCerts.stderr.trim(), `error: unknown command "bogus" for "kubectl federation certs" (see 'kubectl federation certs --help')`);
  });

  test('the separate executables run on their own', () => {
    for (const sub of ['init', 'join', 'unjoin', 'deinit', 'status']) {
      const r = run(join(bin('linux-x64'), `kubectl-federation-${sub}`), ['--help'], pathWith());
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`\\$ kubectl federation ${sub}`));
    }
    // certs carries both of its subcommands (kubectl runs it for `kubectl federation certs ...`).
    for (const sub of ['check-expiration', 'renew']) {
      const r = run(join(bin('linux-x64'), 'kubectl-federation-certs'), [sub, '--help'], pathWith());
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`\\$ kubectl federation certs ${sub}`));
    }
  });

  test('completion through kubectl __complete', () => {
    const links = mkdtempSync(join(tmpdir(), 'completion-'));
    // One completion name per installed executable: kubectl asks the one named after the plugin it
    // resolved (kubectl-federation-init for `kubectl federation init ...`).
    for (const exe of ['kubectl-federation', 'kubectl-federation-init', 'kubectl-federation-join', 'kubectl-federation-unjoin', 'kubectl-federation-deinit', 'kubectl-federation-status', 'kubectl-federation-certs']) {
      symlinkSync(join(bin('linux-x64'), exe), join(links, exe.replace('kubectl-', 'kubectl_complete-')));
    }
    const env = pathWith(bin('linux-x64'), links);
    const subcommands = run('kubectl', ['__complete', 'federation', ''], env);
    assert.equal(subcommands.status, 0, subcommands.stderr);
    assert.match(subcommands.stdout, /^init\tDeploy a federation control plane/m);
    assert.match(subcommands.stdout, /^unjoin\t/m);
    assert.match(subcommands.stdout, /^:4$/m);
    const flags = run('kubectl', ['__complete', 'federation', 'init', '--api-server-s'], env);
    assert.match(flags.stdout, /^--api-server-service-type\t/m);
    const values = run('kubectl', ['__complete', 'federation', 'init', '--api-server-service-type', ''], env);
    assert.match(values.stdout, /^LoadBalancer\nNodePort\n:4/m);
    if (kubeconfig !== '/dev/null') {
      const contexts = run('kubectl', ['__complete', 'federation', 'join', '--host-cluster-context', ''], env);
      assert.match(contexts.stdout, /^host\nmember-1\nmember-2\n:4/m);
    }
  });
});

describe('release archives and krew', () => {
  const archives = () => readdirSync(release).filter((f) => f.endsWith('.tar.gz'));

  test('one archive per platform, at most ~45 MB, each in the checksums file', () => {
    const names = archives().sort();
    assert.deepEqual(names.map((n) => n.replace(/^kubectl-federation_v[^_]+_/, '')), [
      'darwin_amd64.tar.gz',
      'darwin_arm64.tar.gz',
      'linux_amd64.tar.gz',
      'linux_arm64.tar.gz',
      'windows_amd64.tar.gz',
    ]);
    const sums = readFileSync(join(release, 'checksums.txt'), 'utf8');
    for (const n of names) {
      const size = readFileSync(join(release, n)).length;
      assert.ok(size < 45 * 1024 * 1024, `${n} is ${size} bytes`);
      const sha = spawnSync('sha256sum', [join(release, n)], { encoding: 'utf8' }).stdout.split(' ')[0];
      assert.ok(sums.includes(`${sha} ${' '}${n}`), `${n} is in checksums.txt`);
    }
  });

  test("krew-release-bot's template, rendered for this version, is the manifest make dist wrote", () => {
    const version = `v${(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version}`;
    const sums = new Map(
      readFileSync(join(release, 'checksums.txt'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).reverse() as [string, string]),
    );
    // As the bot renders it: the tag, and each archive's address with its sha256 beside it.
    const rendered = readFileSync(join(repoRoot, 'krew', '.krew.yaml'), 'utf8').replace(
      /^(\s*)uri: '\{\{ addURIAndSha "([^"]+)" \.TagName \}\}'$/gm,
      (_m, indent: string, uri: string) => {
        const url = uri.replaceAll('{{ .TagName }}', version);
        return `${indent}uri: ${url}\n${indent}sha256: ${sums.get(url.split('/').at(-1)!) ?? 'missing'}`;
      },
    ).replaceAll('{{ .TagName }}', version);
    assert.deepEqual(parse(rendered), parse(readFileSync(join(release, 'federation.yaml'), 'utf8')));
    // The workflow attaches exactly what the manifest points at.
    const workflow = readFileSync(join(repoRoot, '.github', 'workflows', 'release.yml'), 'utf8');
    assert.match(workflow, /dist\/release\/\*\.tar\.gz dist\/release\/checksums\.txt/);
    assert.match(workflow, /krew_template_file: krew\/\.krew\.yaml/);
  });

  test('the manifest passes validate-krew-manifest', () => {
    const r = run(join(toolsBin, 'validate-krew-manifest'), ['--manifest', join(repoRoot, 'krew', 'federation.yaml'), '--skip-install'], pathWith());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /structural validation OK/);
    assert.match(r.stderr, /no overlapping spec.platform\[\].selector/);
  });

  test('kubectl krew install from the manifest and archive, then kubectl federation works', () => {
    const krewRoot = mkdtempSync(join(tmpdir(), 'krew-root-'));
    const links = mkdtempSync(join(tmpdir(), 'krew-bin-'));
    symlinkSync(join(toolsBin, 'krew'), join(links, 'kubectl-krew'));
    const linux = archives().find((a) => a.endsWith('_linux_amd64.tar.gz'))!;
    const env = { ...pathWith(links, join(krewRoot, 'bin')), KREW_ROOT: krewRoot };
    const install = run('kubectl', ['krew', 'install', `--manifest=${join(release, 'federation.yaml')}`, `--archive=${join(release, linux)}`], env);
    assert.equal(install.status, 0, install.stdout + install.stderr);
    assert.ok(existsSync(join(krewRoot, 'bin', 'kubectl-federation')));
    const help = run('kubectl', ['federation', '--help'], env);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^ {2}init +Deploy a federation control plane/m);
    if (kubeconfig !== '/dev/null') {
      const dry = run('kubectl', ['federation', 'init', 'x', '--host-cluster-context=host', '--dry-run'], env);
      assert.equal(dry.status, 0, dry.stderr);
      assert.match(dry.stdout, /^apiVersion: v1\nkind: Namespace\nmetadata:\n {2}name: federation-system/);
    }
  });

  test('every platform\'s archive installs with krew and carries its LICENSE', () => {
    for (const [os, arch] of [['linux', 'arm64'], ['darwin', 'amd64'], ['darwin', 'arm64'], ['windows', 'amd64']] as const) {
      const krewRoot = mkdtempSync(join(tmpdir(), 'krew-root-'));
      const links = mkdtempSync(join(tmpdir(), 'krew-bin-'));
      symlinkSync(join(toolsBin, 'krew'), join(links, 'kubectl-krew'));
      const archive = archives().find((a) => a.endsWith(`_${os}_${arch}.tar.gz`))!;
      const env = { ...pathWith(links), KREW_ROOT: krewRoot, KREW_OS: os, KREW_ARCH: arch };
      const r = run('kubectl', ['krew', 'install', `--manifest=${join(release, 'federation.yaml')}`, `--archive=${join(release, archive)}`], env);
      assert.equal(r.status, 0, `${os}/${arch}: ${r.stdout}${r.stderr}`);
      const installed = spawnSync('find', [join(krewRoot, 'store'), '-name', 'LICENSE'], { encoding: 'utf8' }).stdout;
      assert.match(installed, /LICENSE/, `${os}/${arch} LICENSE`);
    }
  });
});

describe('what cannot run here', () => {
  const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1';

  test('every binary of every platform carries the injected application', () => {
    for (const [platform, exe, magic] of [
      ['linux-arm64', '', '\x7fELF'],
      ['darwin-x64', '', '\xcf\xfa\xed\xfe'],
      ['darwin-arm64', '', '\xcf\xfa\xed\xfe'],
      ['win-x64', '.exe', 'MZ'],
    ] as const) {
      const data = readFileSync(join(bin(platform), `kubectl-federation${exe}`));
      assert.equal(data.subarray(0, magic.length).toString('latin1'), magic, `${platform} executable format`);
      assert.ok(data.includes(FUSE), `${platform} has its SEA fuse set`);
    }
  });

  test('the macOS binaries are signed (ad hoc)', { skip: !process.env.RCODESIGN && 'RCODESIGN not set: make dist signs, and the release workflow runs this test with it' }, () => {
    for (const platform of ['darwin-x64', 'darwin-arm64']) {
      const info = run(process.env.RCODESIGN!, ['print-signature-info', join(bin(platform), 'kubectl-federation')], pathWith());
      assert.equal(info.status, 0, info.stderr);
      assert.match(info.stdout, /flags: CodeSignatureFlags\(ADHOC\)/);
      assert.match(info.stdout, /identifier: kubectl-federation/);
    }
  });
});
