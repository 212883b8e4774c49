// Shell completion through kubectl (>= 1.26): kubectl runs `kubectl_complete-federation ARGS... WORD`
// and reads candidates, one per line ("value\tdescription"), then ":<directive>" (Cobra's
// ShellCompDirective). The same executable answers when invoked under that name.
import type { Cli } from 'clipanion';
import { Kubeconfig } from '../kubeconfig.ts';

/** Cobra's directives. */
export const Directive = { Default: 0, Error: 1, NoSpace: 2, NoFileComp: 4 } as const;

const CONTEXT_FLAGS = new Set(['--context', '--host-cluster-context', '--cluster-context']);
const VALUES: Record<string, string[]> = {
  '-o': ['yaml', 'json'],
  '--output': ['yaml', 'json'],
  '--api-server-service-type': ['LoadBalancer', 'NodePort'],
  '--image-pull-policy': ['Always', 'IfNotPresent', 'Never'],
};

interface CommandInfo {
  path: string;
  description: string;
  flags: { name: string; description: string; takesValue: boolean }[];
}

/** The subcommands and their flags, from clipanion's own definitions. */
export function commandInfo(cli: Cli): CommandInfo[] {
  // Paths read "kubectl federation init"; the subcommand is what follows the binary's name.
  const sub = (path: string) => path.slice(cli.binaryName.length).trim();
  return cli
    .definitions()
    .filter((d) => /^[a-z][a-z-]*$/.test(sub(d.path)))
    .map((d) => ({
      path: sub(d.path),
      description: (d.description ?? '').trim().replace(/\s+/g, ' '),
      flags: d.options.flatMap((o) =>
        o.definition
          .split(' ')[0]!
          .split(',')
          .filter((n) => n.startsWith('--'))
          .map((name) => ({ name, description: o.description ?? '', takesValue: o.definition.includes('#') })),
      ),
    }));
}

function contexts(args: string[]): string[] {
  const i = args.findIndex((a) => a === '--kubeconfig' || a.startsWith('--kubeconfig='));
  const explicit = i < 0 ? undefined : args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
  try {
    return Kubeconfig.load(explicit).contextNames();
  } catch {
    return [];
  }
}

/** Candidates for the last word of args (which may be empty), as kubectl expects them. */
export function complete(cli: Cli, args: string[]): string {
  const word = args.at(-1) ?? '';
  const before = args.slice(0, -1);
  const commands = commandInfo(cli);
  const out = (candidates: string[], directive: number) =>
    `${candidates.filter((c) => c.split('\t')[0]!.startsWith(word.replace(/^.*=/, ''))).join('\n')}${candidates.length ? '\n' : ''}:${directive}\n`;

  const sub = commands.find((c) => c.path === before[0]);
  if (!sub) {
    return out(commands.map((c) => `${c.path}\t${c.description}`), Directive.NoFileComp);
  }
  // --flag=partial: complete the value in place.
  const eq = word.indexOf('=');
  const flag = eq > 0 ? word.slice(0, eq) : before.at(-1);
  const flagInfo = sub.flags.find((f) => f.name === flag);
  if (flag && (eq > 0 || flagInfo?.takesValue)) {
    const prefix = eq > 0 ? `${flag}=` : '';
    if (CONTEXT_FLAGS.has(flag)) return out(contexts(args).map((c) => prefix + c), Directive.NoFileComp);
    if (VALUES[flag]) return out(VALUES[flag].map((v) => prefix + v), Directive.NoFileComp);
    if (flag === '--kubeconfig') return `:${Directive.Default}\n`;
    return `:${Directive.NoFileComp}\n`;
  }
  if (word.startsWith('-')) {
    return out(sub.flags.map((f) => `${f.name}\t${f.description}`), Directive.NoFileComp);
  }
  // The positional CLUSTER of join and unjoin is, by default, a context's name.
  const positionals = before.slice(1).filter((a, i, all) => !a.startsWith('-') && !sub.flags.find((f) => f.name === all[i - 1] && f.takesValue));
  if ((sub.path === 'join' || sub.path === 'unjoin') && positionals.length === 0) {
    return out(contexts(args), Directive.NoFileComp);
  }
  return `:${Directive.NoFileComp}\n`;
}
