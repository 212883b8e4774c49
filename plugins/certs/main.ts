// kubectl-federation-certs: `kubectl federation certs check-expiration|renew` as an executable of
// its own (kubectl runs it for both: the longest matching name wins).
import { main } from '../../shared/cli/run.ts';
import { federationSpec } from '../federation/commands.ts';
import { CertsCheckExpirationCommand, CertsRenewCommand } from '../../shared/certs/command.ts';

class CheckExpiration extends CertsCheckExpirationCommand {
  static override paths = [['check-expiration']];
}

class Renew extends CertsRenewCommand {
  static override paths = [['renew']];
}

// kubectl runs this one for `kubectl federation certs` alone too: it lists its two commands.
main({ binaryName: 'kubectl federation certs', commands: [CheckExpiration, Renew], completionSpec: federationSpec, listsCommands: true, description: 'Check and renew the certificates init made.' });
