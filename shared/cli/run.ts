// Runs a command line: parses it with clipanion, turns parse errors into kubectl's two lines
// ("error: ..." and where to find usage), and exits with the command's code.
import { Builtins, Cli, type CommandClass } from 'clipanion';
import { EXIT_USAGE, oneLine } from '../errors.ts';

declare const __VERSION__: string | undefined;
export const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export interface CliSpec {
  /** How users type the command: "kubectl federation" or "kubectl federation init". */
  binaryName: string;
  commands: CommandClass[];
}

export function makeCli(spec: CliSpec): Cli {
  const cli = new Cli({
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
  const cli = makeCli(spec);
  const context = { ...Cli.defaultContext };
  let command;
  try {
    command = cli.process(argv, context);
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    process.stderr.write(`error: ${oneLine(message.replace(/^(Unknown Syntax Error|Usage Error): /, ''))}\n`);
    process.stderr.write(`See '${spec.binaryName} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  return cli.run(command, context);
}

/** The entry of every executable: run, then exit with the code once output is flushed. */
export function main(spec: CliSpec): void {
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
