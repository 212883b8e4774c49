// What a command line can be answered with before any command's code or the parser is loaded: the
// list of commands (alone, --help, help), a group's list ("certs"), an unknown command, --version.
// `kubectl federation --help` must start as fast as Node itself: this module imports nothing heavy,
// and the executables consult it with a static table of their commands before loading the rest
// (plugins/federation/table.ts, kept equal to the commands' own paths and descriptions by a test).
import { basename } from 'node:path';
import { EXIT_USAGE } from '../errors.ts';
import { versionText } from '../version-info.ts';

export interface CommandEntry {
  path: string[];
  description: string;
}

export interface QuickSpec {
  /** How users type the command: "kubectl federation" or "kubectl federation certs". */
  binaryName: string;
  /** The first line of the list (default: what the whole plugin does). */
  description?: string;
  commands: CommandEntry[];
  /** The executable of every subcommand: alone or with --help it lists them. */
  listsCommands?: boolean;
}

const PLUGIN_DESCRIPTION = 'Deploy a Kubernetes federation control plane and join clusters to it.';
/** Commands of more than one word group under their first ("certs renew"): each group's line. */
const GROUPS: Record<string, string> = { certs: 'Check and renew the certificates init made' };

/** The list of (sub)commands, kubectl's way. */
export function commandList(spec: QuickSpec, group?: string): string {
  const subs = spec.commands
    .filter((d) => d.path.length > 0 && d.path.every((w) => /^[a-z][a-z-]*$/.test(w)) && (group === undefined || d.path[0] === group))
    .map((d) => ({ name: (group === undefined ? d.path : d.path.slice(1)).join(' '), description: d.description.trim() }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const width = Math.max(...subs.map((s) => s.name.length)) + 3;
  const binary = group === undefined ? spec.binaryName : `${spec.binaryName} ${group}`;
  return [
    group === undefined ? (spec.description ?? PLUGIN_DESCRIPTION) : `${GROUPS[group] ?? ''}.`,
    '',
    'Commands:',
    ...subs.map((s) => `  ${s.name.padEnd(width)}${s.description}`),
    '',
    'Usage:',
    `  ${binary} <command> [flags]`,
    '',
    `Use "${binary} <command> --help" for more information about a command; --version prints the version.`,
    '',
  ].join('\n');
}

/** The exit code when the line is answered here; undefined when a command must run. */
export function quickAnswer(spec: QuickSpec, argv: string[], stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): number | undefined {
  const help = (word: string | undefined) => word === '-h' || word === '--help';
  if (argv.length === 1 && argv[0] === '--version') {
    stdout.write(versionText());
    return 0;
  }
  if (spec.listsCommands !== true) return undefined;
  if (argv.length === 0 || (argv.length === 1 && (help(argv[0]) || argv[0] === 'help'))) {
    stdout.write(commandList(spec));
    return 0;
  }
  const first = argv[0]!;
  if (!first.startsWith('-') && !spec.commands.some((c) => c.path[0] === first)) {
    stderr.write(`error: unknown command "${first}" for "${spec.binaryName}" (see '${spec.binaryName} --help')\n`);
    return EXIT_USAGE;
  }
  // A group ("certs") alone, or with --help, lists its commands; an unknown word in it is named.
  if (!(first in GROUPS)) return undefined;
  if (argv.length === 1 || (argv.length === 2 && help(argv[1]))) {
    stdout.write(commandList(spec, first));
    return 0;
  }
  const second = argv[1]!;
  if (!second.startsWith('-') && !spec.commands.some((c) => c.path[0] === first && c.path[1] === second)) {
    stderr.write(`error: unknown command "${second}" for "${spec.binaryName} ${first}" (see '${spec.binaryName} ${first} --help')\n`);
    return EXIT_USAGE;
  }
  return undefined;
}

/**
 * When started under a completion name, the words it completes: kubectl_complete-federation gets
 * them as they are; kubectl_complete-federation-init (kubectl asks that one when the plugin it ran
 * is kubectl-federation-init) gets them without the subcommand, which is put back.
 */
export function completionArgs(): string[] | undefined {
  for (const name of [process.argv0, process.argv[1] ?? ''].map((a) => basename(a).replace(/\.exe$/, ''))) {
    const match = /^kubectl_complete-federation(?:-(init|join|unjoin|deinit|status|certs))?$/.exec(name);
    if (match) return [...(match[1] ? [match[1]] : []), ...process.argv.slice(2)];
  }
  return undefined;
}
