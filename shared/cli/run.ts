// Runs a command line: parses it with clipanion, turns parse errors into kubectl's two lines
// ("error: ..." and where to find usage), and exits with the command's code.
import { Builtins, Cli, type CommandClass } from 'clipanion';
import { EXIT_USAGE, oneLine } from '../errors.ts';

import { VERSION } from '../version-info.ts';
import { completionArgs, type QuickSpec, quickAnswer } from './quick.ts';

export interface CliSpec {
  /** How users type the command: "kubectl federation" or "kubectl federation init". */
  binaryName: string;
  commands: CommandClass[];
  /** The full command set, for an executable of one subcommand asked to complete. */
  completionSpec?: CliSpec;
  /** The executable of every subcommand: alone or with --help it lists them. */
  listsCommands?: boolean;
  /** The first line of that list (default: what the whole plugin does). */
  description?: string;
}

/** The commands' paths and descriptions, as the quick answers read them. */
export function commandEntries(spec: CliSpec): QuickSpec {
  return {
    binaryName: spec.binaryName,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.listsCommands ? { listsCommands: true } : {}),
    commands: spec.commands.map((c) => ({ path: c.paths?.[0] ?? [], description: c.usage?.description ?? '' })),
  };
}

/** The value a flag takes, as kubectl names it in help ("--kubeconfig PATH"); clipanion says "#0". */
export function valueName(flag: string): string {
  const name = flag.split(',').at(-1)!.replace(/^-+/, '');
  const rules: [RegExp, string][] = [
    [/(kubeconfig|file)$/, 'PATH'],
    [/-server$/, 'URL'],
    [/registry$/, 'REGISTRY'],
    [/resources$/, 'requests.NAME=QUANTITY,...'],
    [/annotations$/, 'KEY=VALUE,...'],
    [/ranges$/, 'CIDR,...'],
    [/context$/, 'NAME'],
    [/(timeout|period|deadline|duration)$/, 'DURATION'],
    [/(address|server)$/, 'ADDRESS'],
    [/port$/, 'PORT'],
    [/image$/, 'IMAGE'],
    [/(selector|labels)$/, 'KEY=VALUE,...'],
    [/overrides$/, 'ARG=VALUE,...'],
    [/namespace$/, 'NAMESPACE'],
    [/^output$/, 'FORMAT'],
    [/kinds$/, 'KIND,...'],
    [/(capacity)$/, 'QUANTITY'],
    [/(sans|secrets|servers)$/, 'LIST'],
    [/^v$/, 'LEVEL'],
    [/(policy|type|class)$/, 'NAME'],
  ];
  return rules.find(([re]) => re.test(name))?.[1] ?? 'VALUE';
}

/** Clipanion's CLI with kubectl's value names in its help. */
class KubectlStyleCli extends Cli {
  override usage(...args: Parameters<Cli['usage']>): string {
    const named = super.usage(...args).replace(/(-{1,2}[a-z][\w-]*(?:,-{1,2}[a-z][\w-]*)*) #0/g, (_m, flag: string) => `${flag} ${valueName(flag)}`);
    // The option table's columns, aligned again for the longer definitions.
    const row = /^ {2}(-\S.*?) {2,}(\S.*)$/;
    const lines = named.split('\n');
    const width = Math.max(0, ...lines.map((l) => row.exec(l)?.[1]?.length ?? 0));
    return lines.map((l) => l.replace(row, (_m, def: string, text: string) => `  ${def.padEnd(width)}    ${text}`)).join('\n');
  }
}

export function makeCli(spec: CliSpec): Cli {
  const cli = new KubectlStyleCli({
    binaryLabel: 'kubectl-federation',
    binaryName: spec.binaryName,
    binaryVersion: VERSION,
    // Colours only on a terminal and never with NO_COLOR.
    enableColors: process.stdout.isTTY === true && !process.env.NO_COLOR,
  });
  for (const command of spec.commands) cli.register(command);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  return cli;
}

export async function runCli(spec: CliSpec, argv: string[] = process.argv.slice(2)): Promise<number> {
  const allCommands = spec.listsCommands === true;
  const quick = quickAnswer(commandEntries(spec), argv, process.stdout, process.stderr);
  if (quick !== undefined) return quick;
  const cli = makeCli(spec);
  const context = { ...Cli.defaultContext };
  let command;
  try {
    command = cli.process(argv, context);
  } catch (err) {
    const first = argv[0];
    const known = cli.definitions().some((d) => d.path.endsWith(` ${first}`));
    if (allCommands && first && !first.startsWith('-') && !known) {
      // kubectl's two lines ("error: ...", "See '... --help' for usage.") as one: errors here are one line.
      process.stderr.write(`error: unknown command "${first}" for "${spec.binaryName}" (see '${spec.binaryName} --help')\n`);
      return EXIT_USAGE;
    }
    const definition = cli.definitions().find((d) => d.path === `${spec.binaryName} ${first}` || (!allCommands && d.path === spec.binaryName));
    if (definition && err instanceof Error && err.message.startsWith('Command not found')) {
      // Clipanion's word for a command line with words too many: name them, and show the usage.
      // A flag the command does not have is what is wrong, not the words around it.
      const names = new Set(['-h', '--help', ...definition.options.flatMap((o) => o.definition.split(' ')[0]!.split(','))]);
      const unknownFlag = (allCommands ? argv.slice(1) : argv).find((a) => a.startsWith('-') && a !== '-' && a !== '--' && !names.has(a.split('=')[0]!));
      if (unknownFlag !== undefined) {
        process.stderr.write(`error: unknown flag: ${unknownFlag.split('=')[0]} (see '${definition.path} --help')\n`);
        return EXIT_USAGE;
      }
      const positionals = [...definition.usage.matchAll(/[[<]([A-Z][A-Z_-]*)[\]>]/g)].map((m) => m[0]);
      // Flags that take a value, whose next word is that value, not an argument.
      const valued = new Set(definition.options.flatMap((o) => (o.definition.includes('#0') ? o.definition.split(' ')[0]!.split(',') : [])));
      const words: string[] = [];
      const rest = allCommands ? argv.slice(1) : argv;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        if (a.startsWith('-')) {
          if (!a.includes('=') && valued.has(a)) i++;
        } else words.push(a);
      }
      const extra = words.slice(positionals.length);
      const usage = `${definition.path} ${positionals.join(' ')} [flags]`.replace(/ {2,}/g, ' ');
      process.stderr.write(
        `error: unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((w) => `"${w}"`).join(' ') || words.map((w) => `"${w}"`).join(' ')}: usage: ${usage} (see '${definition.path} --help')\n`,
      );
      return EXIT_USAGE;
    }
    const message = (err instanceof Error ? err.message.split('\n')[0]! : String(err))
      .replace(/^(Unknown Syntax Error|Usage Error): /, '')
      .replace(/^Unsupported option name \("(.*)"\)\.?$/, 'unknown flag: $1')
      .replace(/^Invalid option name \("([^"=]*)(=[^"]*)?"\)\.?$/, 'unknown flag: $1');
    const command = allCommands && known ? `${spec.binaryName} ${first}` : spec.binaryName;
    process.stderr.write(`error: ${oneLine(message)} (see '${command} --help')\n`);
    return EXIT_USAGE;
  }
  return cli.run(command, context);
}

/** The entry of every executable: run, then exit with the code once output is flushed. */
export function main(spec: CliSpec): void {
  const words = completionArgs();
  if (words) {
    // Completion always knows every subcommand, whichever executable answers.
    void import('./completion.ts').then(({ complete }) => process.stdout.write(complete(makeCli(spec.completionSpec ?? spec), words)));
    return;
  }
  runCli(spec).then(
    (code) => {
      process.exitCode = code;
      // A stray open handle must not keep a finished command alive; the timer itself does not.
      setTimeout(() => process.exit(), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
