// Every subcommand, for kubectl-federation and for completion in any of the executables.
import type { CliSpec } from '../../shared/cli/run.ts';
import { BackupCommand } from '../../shared/backup/command.ts';
import { CertsCheckExpirationCommand, CertsRenewCommand } from '../../shared/certs/command.ts';
import { DeinitCommand } from '../../shared/deinit/command.ts';
import { DiffCommand } from '../../shared/diff/command.ts';
import { InitCommand } from '../../shared/init/command.ts';
import { JoinCommand } from '../../shared/join/command.ts';
import { StatusCommand } from '../../shared/status/command.ts';
import { TokenCreateCommand } from '../../shared/token/command.ts';
import { UnjoinCommand } from '../../shared/unjoin/command.ts';
import { VersionCommand } from '../../shared/version/command.ts';

export const federationSpec: CliSpec = {
  binaryName: 'kubectl federation',
  commands: [InitCommand, JoinCommand, UnjoinCommand, DeinitCommand, StatusCommand, DiffCommand, BackupCommand, CertsCheckExpirationCommand, CertsRenewCommand, TokenCreateCommand, VersionCommand],
  listsCommands: true,
};
