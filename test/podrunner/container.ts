// One container as one local process: in its pod's network namespace, in a mount namespace of its
// own where the volumes appear at their mountPaths. Directories that must exist for a mountPath
// (/etc/federation, say) are made inside an overlay of the top-level directory that is private to
// the container, so the machine's own file system is never changed; the same overlay carries the
// pod's /etc/hosts. The whole chain (setpriv, nsenter, unshare, sh, setpriv) execs into the
// container's program, so the process the runner holds is the program itself.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { shellQuote } from './commands.ts';
import type { ProcessIdentity } from './security.ts';

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface ContainerLaunch {
  /** This container's own scratch directory (overlay layers, log). */
  dir: string;
  netnsPath: string;
  argv: string[];
  env: Record<string, string>;
  mounts: Mount[];
  hosts: string;
  workingDir?: string;
  identity: ProcessIdentity;
  logFile: string;
}

/** Where a mount point really is: its existing part with symlinks resolved (/var/run -> /run). */
function resolveMountPoint(target: string): string {
  let existing = target;
  while (!existsSync(existing)) existing = dirname(existing);
  return join(realpathSync(existing), target.slice(existing.length));
}

function topLevel(path: string): string {
  return `/${path.split('/')[1]}`;
}

/** The container's /etc/hosts as the runner sees it: rewritten in place when cluster DNS would answer otherwise. */
export const hostsFile = (dir: string) => join(dir, 'overlay', 'etc', 'upper', 'hosts');

/** The shell that sets up the container's mounts, then execs its program (passed as "$@"). */
export function setupScript(launch: ContainerLaunch): string {
  const q = shellQuote;
  const lines = ['set -e'];
  // Every top-level directory a mount point must be made in, plus /etc for /etc/hosts.
  const tops = new Set(['/etc']);
  const targets = launch.mounts.map((m) => {
    const resolved = resolveMountPoint(m.target);
    // The overlay that makes a mount point needs its top-level directory on this machine; making
    // one (/data) would change the machine's own root, which the runner never does.
    if (!existsSync(topLevel(resolved))) {
      throw new Error(`mountPath ${m.target}: the local pod runner makes mount points only under an existing top-level directory (${topLevel(resolved)} does not exist here); use e.g. /var${m.target}`);
    }
    tops.add(topLevel(resolved));
    return { ...m, resolved };
  });
  for (const top of tops) {
    const layer = join(launch.dir, 'overlay', top.slice(1));
    mkdirSync(join(layer, 'upper'), { recursive: true });
    mkdirSync(join(layer, 'work'), { recursive: true });
    if (top === '/etc') writeFileSync(hostsFile(launch.dir), launch.hosts, { mode: 0o644 });
    lines.push(`mount -t overlay overlay -o ${q(`lowerdir=${top},upperdir=${layer}/upper,workdir=${layer}/work`)} ${q(top)}`);
  }
  for (const m of targets) {
    lines.push(`mkdir -p ${q(m.resolved)}`, `mount --bind ${q(m.source)} ${q(m.resolved)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${q(m.resolved)}`);
  }
  lines.push(`cd ${q(launch.workingDir ?? '/')}`);
  const id = launch.identity;
  if (id.execRefusal) {
    // What the kernel does with a program whose file capabilities the bounding set lacks.
    lines.push(`echo ${q(id.execRefusal)} >&2`, 'exit 1');
    return lines.join('\n');
  }
  const identity = [
    '--reuid', String(id.uid), '--regid', String(id.gid),
    ...(id.groups.length > 0 ? ['--groups', id.groups.join(',')] : ['--clear-groups']),
    '--bounding-set', ['-all', ...id.capabilities.map((c) => `+${c.toLowerCase()}`)].join(','),
    ...(id.noNewPrivs ? ['--no-new-privs'] : []),
  ];
  // A change of user clears the parent-death signal: set it again as the last step.
  lines.push(`exec setpriv ${identity.join(' ')} -- setpriv --pdeathsig KILL -- "$@"`);
  return lines.join('\n');
}

export function launchContainer(launch: ContainerLaunch): ChildProcess {
  mkdirSync(launch.dir, { recursive: true });
  const log = openSync(launch.logFile, 'a');
  try {
    return spawn(
      'setpriv',
      [
        '--pdeathsig', 'KILL',
        'nsenter', `--net=${launch.netnsPath}`,
        'unshare', '--mount', '--propagation', 'private', '--',
        '/bin/sh', '-c', setupScript(launch), 'container', ...launch.argv,
      ],
      { stdio: ['ignore', log, log], env: launch.env },
    );
  } finally {
    closeSync(log);
  }
}
