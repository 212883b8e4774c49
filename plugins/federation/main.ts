// kubectl-federation: every subcommand in one executable (krew links one binary per plugin).
// What needs no command (the list, --help, an unknown command, --version) is answered from a static
// table before clipanion or any command is loaded; the rest loads them.
import { completionArgs, quickAnswer } from '../../shared/cli/quick.ts';
import { federationTable } from './table.ts';

const quick = completionArgs() ? undefined : quickAnswer(federationTable, process.argv.slice(2), process.stdout, process.stderr);
if (quick !== undefined) process.exitCode = quick;
else {
  void Promise.all([import('../../shared/cli/run.ts'), import('./commands.ts')]).then(([{ main }, { federationSpec }]) => main(federationSpec));
}
