// Every subcommand, for kubectl-federation and for completion in any of the executables.
import type { CliSpec } from '../../shared/cli/run.ts';
import { BackupCommand } from '../backup/command.ts';
import { CertsCheckExpirationCommand, CertsRenewCommand } from '../certs/command.ts';
import { DeinitCommand } from '../deinit/command.ts';
import { DiffCommand } from '../diff/command.ts';
import { InitCommand } from '../init/command.ts';
import { JoinCommand } from '../join/command.ts';
import { StatusCommand } from '../status/command.ts';
import { TokenCreateCommand } from '../token/command.ts';
import { UnjoinCommand } from '../unjoin/command.ts';
import { VersionCommand } from '../version/command.ts';

export const federationSpec: CliSpec = {
  binaryName: 'kubectl federation',
  commands: [InitCommand, JoinCommand, UnjoinCommand, DeinitCommand, StatusCommand, DiffCommand, BackupCommand, CertsCheckExpirationCommand, CertsRenewCommand, TokenCreateCommand, VersionCommand],
  listsCommands: true,
};
