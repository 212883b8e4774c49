// The commands of kubectl-federation as the quick answers need them (--help, an unknown command),
// without loading clipanion or any command: start-up is then Node's own. A test keeps this table
// equal to the commands' own static paths and descriptions (test/unit/command-table.test.ts).
import type { QuickSpec } from '../../shared/cli/quick.ts';

export const federationTable: QuickSpec = {
  binaryName: 'kubectl federation',
  listsCommands: true,
  commands: [
    { path: ['init'], description: 'Deploy a federation control plane onto an existing cluster' },
    { path: ['join'], description: 'Register a cluster with the federation' },
    { path: ['unjoin'], description: 'Remove a cluster from the federation' },
    { path: ['deinit'], description: 'Remove a federation control plane that init deployed' },
    { path: ['status'], description: 'Show the health of a federation and what would fix it' },
    { path: ['diff'], description: 'Show what each member would receive, beside what it has now' },
    { path: ['backup'], description: "Write the federation's state to a file, for init --restore-from" },
    { path: ['certs', 'check-expiration'], description: 'List the certificates init made and when each expires' },
    { path: ['certs', 'renew'], description: 'Renew the certificates init made, with the same CA' },
    { path: ['token', 'create'], description: 'Print the command that joins a private cluster in pull mode' },
    { path: ['version'], description: 'Print the plugin version and the versions it deploys' },
  ],
};
