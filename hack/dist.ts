// `make dist`: single executables with pkg (Node's single-executable applications, on the pinned
// official Node.js 22.23.2 of each platform), release archives, checksums and the krew manifest.
//
//   node hack/dist.ts [--only=linux-x64]
//
// Works offline: pkg's download cache is seeded from the Node binaries hack/fetch-node.sh took
// from the npm registry (verified against hack/node-binaries.lock).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

interface Platform {
  id: string;
  pkg: { platform: 'linux' | 'macos' | 'win'; arch: 'x64' | 'arm64' };
  krew: { os: string; arch: string };
  exe: string;
}

export const platforms: Platform[] = [
  { id: 'linux-x64', pkg: { platform: 'linux', arch: 'x64' }, krew: { os: 'linux', arch: 'amd64' }, exe: '' },
  { id: 'linux-arm64', pkg: { platform: 'linux', arch: 'arm64' }, krew: { os: 'linux', arch: 'arm64' }, exe: '' },
  { id: 'darwin-x64', pkg: { platform: 'macos', arch: 'x64' }, krew: { os: 'darwin', arch: 'amd64' }, exe: '' },
  { id: 'darwin-arm64', pkg: { platform: 'macos', arch: 'arm64' }, krew: { os: 'darwin', arch: 'arm64' }, exe: '' },
  { id: 'win-x64', pkg: { platform: 'win', arch: 'x64' }, krew: { os: 'windows', arch: 'amd64' }, exe: '.exe' },
];
export const executables = ['kubectl-federation', 'kubectl-federation-init', 'kubectl-federation-join', 'kubectl-federation-unjoin', 'kubectl-federation-deinit', 'kubectl-federation-status', 'kubectl-federation-certs'];
const REPO = 'https://github.com/kubectl-federation/kubectl-federation';

const root = join(import.meta.dirname, '..');
const nodeVersion = readFileSync(join(root, '.node-version'), 'utf8').trim();
const version = `v${(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version}`;
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const selected = platforms.filter((p) => !only || only.split(',').includes(p.id));

/** pkg looks for <archive>+.ok and the extracted binary+.ok before it would download anything. */
function seedPkgCache(p: Platform): void {
  const cache = join(homedir(), '.pkg-cache', 'sea');
  const os = p.pkg.platform === 'macos' ? 'darwin' : p.pkg.platform;
  const name = `node-v${nodeVersion}-${os}-${p.pkg.arch}`;
  const source = join(root, '.tools', `node-${p.id}`, 'bin', `node${p.exe}`);
  execFileSync(join(root, 'hack', 'fetch-node.sh'), [p.id], { stdio: 'inherit' });
  const binary = os === 'win' ? join(cache, `${name}.exe`) : join(cache, name, 'bin', 'node');
  mkdirSync(join(binary, '..'), { recursive: true });
  copyFileSync(source, binary);
  writeFileSync(`${binary}.ok`, '');
  // The archive itself is never read once its binary is extracted; a note stands in for it.
  const archive = join(cache, `${name}.${os === 'win' ? 'zip' : 'tar.gz'}`);
  writeFileSync(archive, `seeded by kubectl-federation's hack/dist.ts from the npm registry's official Node.js ${nodeVersion}\n`);
  writeFileSync(`${archive}.ok`, '');
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Runs fn, then removes the process-wide error listeners it left: pkg injects each blob with
 * postject, whose WebAssembly glue adds an uncaughtException and an unhandledRejection listener per
 * injection and never removes them (Node warned of a leak after ten builds: MaxListenersExceeded).
 */
async function withoutLeftListeners(fn: () => Promise<void>): Promise<void> {
  const before = { exception: new Set(process.listeners('uncaughtException')), rejection: new Set(process.listeners('unhandledRejection')) };
  try {
    await fn();
  } finally {
    for (const l of process.listeners('uncaughtException')) if (!before.exception.has(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.rejection.has(l)) process.removeListener('unhandledRejection', l);
  }
}

async function buildBinaries(): Promise<void> {
  // pkg's simple SEA pipeline, called directly: its command line does not pass seaConfig through.
  type Sea = (entry: string, opts: { targets: object[]; signature: boolean; seaConfig?: object }) => Promise<void>;
  const sea = ((await import('@yao-pkg/pkg/lib-es5/sea.js')) as unknown as { default: { default: Sea } }).default.default;
  for (const p of selected) seedPkgCache(p);
  // `make test` (DIST_SEPARATE=host) builds the separate executables for this machine only: the
  // archives carry kubectl-federation alone, and the others only run here in the tests.
  const separateOn = (p: Platform) => process.env.DIST_SEPARATE !== 'host' || p.id === 'linux-x64';
  for (const exe of executables) {
    const targets = exe === 'kubectl-federation' ? selected : selected.filter(separateOn);
    // V8's code cache is made for the machine that makes the blob: only linux-x64 (this one) gets it.
    const groups = [targets.filter((p) => p.id === 'linux-x64'), targets.filter((p) => p.id !== 'linux-x64')];
    for (const [i, group] of groups.entries()) {
      if (group.length === 0) continue;
      await withoutLeftListeners(() =>
        sea(join(root, 'dist', `${exe}.cjs`), {
          targets: group.map((p) => ({ ...p.pkg, nodeRange: `node${nodeVersion}`, output: join(root, 'dist', 'bin', p.id, `${exe}${p.exe}`) })),
          // Signed below with rcodesign, which runs on Linux.
          signature: false,
          seaConfig: { useCodeCache: i === 0, disableExperimentalSEAWarning: true },
        }),
      );
    }
  }
  // The start-up floor `make bench` measures --help against: a program that prints one line, made
  // into a single executable exactly as ours are (same Node.js, same code cache), for this machine.
  const host = selected.find((p) => p.id === 'linux-x64');
  if (host) {
    mkdirSync(join(root, 'dist', 'floor'), { recursive: true });
    writeFileSync(join(root, 'dist', 'floor', 'floor.cjs'), "process.stdout.write('floor\\n');\n");
    await withoutLeftListeners(() =>
      sea(join(root, 'dist', 'floor', 'floor.cjs'), {
        targets: [{ ...host.pkg, nodeRange: `node${nodeVersion}`, output: join(root, 'dist', 'floor', 'floor') }],
        signature: false,
        seaConfig: { useCodeCache: true, disableExperimentalSEAWarning: true },
      }),
    );
  }
}

/** macOS kills unsigned arm64 binaries and injected ones lost their signature: sign ad hoc. */
function signMacOS(): void {
  const rcodesign = process.env.RCODESIGN!;
  for (const p of selected.filter((x) => x.pkg.platform === 'macos')) {
    for (const exe of executables) {
      execFileSync(rcodesign, ['sign', join(root, 'dist', 'bin', p.id, exe)], { stdio: 'ignore' });
    }
  }
}

function archives(): { platform: Platform; file: string; sha: string }[] {
  const release = join(root, 'dist', 'release');
  mkdirSync(release, { recursive: true });
  return selected.map((p) => {
    const dir = join(root, 'dist', 'bin', p.id);
    copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
    const file = join(release, `kubectl-federation_${version}_${p.krew.os}_${p.krew.arch}.tar.gz`);
    // Reproducible: fixed order, owner and time, and gzip without a timestamp.
    execFileSync('sh', [
      '-c',
      `tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "${dir}" -cf - kubectl-federation${p.exe} LICENSE | gzip -9n > "${file}"`,
    ]);
    return { platform: p, file, sha: sha256(file) };
  });
}

function krewManifest(built: { platform: Platform; file: string; sha: string }[], template: boolean): object {
  return {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'federation' },
    spec: {
      version: template ? '{{ .TagName }}' : version,
      homepage: REPO,
      shortDescription: 'Deploy a federation control plane and join clusters to it',
      description:
        'Deploys a Kubernetes federation control plane (a stock kube-apiserver with etcd, and a\n' +
        'controller manager that keeps each member\'s health and propagates what you apply to the\n' +
        'federation into its members) onto an existing cluster with "kubectl federation init", and\n' +
        'registers clusters with "kubectl federation join".\n',
      caveats:
        'Shell completion through kubectl (1.26 or newer) needs one link on your PATH:\n' +
        '  ln -s "$(command -v kubectl-federation)" "$(dirname "$(command -v kubectl-federation)")/kubectl_complete-federation"\n' +
        'krew does not know that link: before "kubectl krew uninstall federation", remove it with\n' +
        '  rm "$(dirname "$(command -v kubectl-federation)")/kubectl_complete-federation"\n',
      platforms: built.map(({ platform: p, file, sha }) => {
        const name = file.split('/').at(-1)!;
        const uri = template
          ? `{{ addURIAndSha "${REPO}/releases/download/{{ .TagName }}/${name.replace(version, '{{ .TagName }}')}" .TagName }}`
          : `${REPO}/releases/download/${version}/${name}`;
        return {
          selector: { matchLabels: { os: p.krew.os, arch: p.krew.arch } },
          ...(template ? { uri } : { uri, sha256: sha }),
          bin: `kubectl-federation${p.exe}`,
          files: [
            { from: `kubectl-federation${p.exe}`, to: '.' },
            { from: 'LICENSE', to: '.' },
          ],
        };
      }),
    },
  };
}

rmSync(join(root, 'dist', 'release'), { recursive: true, force: true });
await buildBinaries();
// `make dist` signs (RCODESIGN set); `make test`'s build does not: signing needs a tool that takes
// five minutes to build, and the release workflow tests the signatures.
if (process.env.RCODESIGN && selected.some((p) => p.pkg.platform === 'macos')) signMacOS();
const built = archives();
writeFileSync(join(root, 'dist', 'release', 'checksums.txt'), built.map((b) => `${b.sha}  ${b.file.split('/').at(-1)}\n`).join(''));
const manifest = stringify(krewManifest(built, false), { lineWidth: 0 });
writeFileSync(join(root, 'dist', 'release', 'federation.yaml'), manifest);
if (!only) {
  writeFileSync(join(root, 'krew', 'federation.yaml'), manifest);
  // krew-release-bot fills in the tag and each archive's sha256 from this template.
  writeFileSync(join(root, 'krew', '.krew.yaml'), stringify(krewManifest(built, true), { lineWidth: 0 }));
}
for (const b of built) console.log(`${b.file.split('/').at(-1)}: ${(readFileSync(b.file).length / 1048576).toFixed(1)} MB, sha256 ${b.sha}`);
if (!existsSync(join(root, 'dist', 'bin'))) process.exit(1);
