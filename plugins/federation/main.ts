// kubectl-federation: every subcommand in one executable (krew links one binary per plugin).
// Alone, or with --help, it lists the subcommands (shared/cli/run.ts answers that directly).
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from './commands.ts';

main(federationSpec);
