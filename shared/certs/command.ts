// `kubectl federation certs check-expiration` and `certs renew`: their flags and help; the work
// (loaded when one runs) is certs.ts.
import { Command, Option } from 'clipanion';
import { KubeCommand } from '../cli/command.ts';

abstract class CertsCommand extends KubeCommand {
  federation = Option.String('--federation', { description: "The federation's name or context (default: the current context)" });
}

export class CertsCheckExpirationCommand extends CertsCommand {
  static override paths = [['certs', 'check-expiration']];
  static override usage = Command.Usage({
    description: 'List the certificates init made and when each expires',
    examples: [['The federation of the current context', 'kubectl federation certs check-expiration']],
  });

  output = Option.String('-o,--output', { description: 'json or yaml' });

  protected override async run(): Promise<number> {
    const [{ report }, { checkExpiration, formatExpiration }] = await Promise.all([import('../cli/report.ts'), import('./certs.ts')]);
    await report(this, this.context.stdout, (kubeconfig, timeoutMs) => checkExpiration(kubeconfig, this.federation, timeoutMs), formatExpiration);
    return 0;
  }
}

export class CertsRenewCommand extends CertsCommand {
  static override paths = [['certs', 'renew']];
  static override usage = Command.Usage({
    description: 'Renew the certificates init made, with the same CA',
    details: `
      WHICH is all (the default), apiserver, etcd, controller-manager or admin. The certificates are
      issued again by the federation's own CA (etcd's by etcd's CA, with init --ha), so everything
      that trusts the federation keeps trusting it; the Secrets are updated, the pods are rolled so
      that they load them (one replica at a time with --ha), and the admin certificate in the
      kubeconfig is replaced.
    `,
    examples: [
      ['Everything', 'kubectl federation certs renew'],
      ["Only the API server's serving certificate", 'kubectl federation certs renew apiserver'],
      ["With init --ha: etcd's members' and the API servers' etcd client certificates", 'kubectl federation certs renew etcd'],
    ],
  });

  which = Option.String({ name: 'WHICH', required: false });

  protected override async run(): Promise<number> {
    const [{ Kubeconfig }, { parseWhich, renew }, { parseDuration }, { Output }] = await Promise.all([
      import('../kubeconfig.ts'),
      import('./certs.ts'),
      import('../duration.ts'),
      import('../output.ts'),
    ]);
    const which = parseWhich(this.which);
    const out = new Output({ stream: this.context.stdout, warnings: this.context.stderr });
    const result = await renew(Kubeconfig.load(this.kubeconfig), this.federation, which, parseDuration(this.requestTimeout, '--request-timeout'), out);
    out.line(`Renewed ${result.renewed.join(', ')} for federation ${result.federation}. See: kubectl federation certs check-expiration`);
    return 0;
  }
}
