// `controller-manager agent`: the pull-mode agent, in the member, run by the stock Node.js image
// from the same code the controller manager runs (join --pull ships it in a ConfigMap). It calls
// the federation (the member may be unreachable from it) as an identity that reads only what is
// placed on its own cluster, and calls its own cluster as the bounded member identity push gives
// the controller manager. Three controllers on the one runtime: heartbeat, token, copies.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'clipanion';
import { ControllerCommand } from '../command-base.ts';
import { parseDuration } from '../../shared/duration.ts';
import { InputError } from '../../shared/errors.ts';
import { parsePort } from '../../shared/flags.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { MEMBER_TOKEN_LIFETIME_S } from '../../shared/member-credentials.ts';
import { memberObjectNames } from '../../shared/manifests/member.ts';
import { clientFromKubeconfig } from '../clients.ts';
import { serveHealth } from '../health-server.ts';
import { Controller } from '../runtime/controller.ts';
import { WorkQueue } from '../runtime/queue.ts';
import { AgentCopies } from './copies.ts';
import { HEARTBEAT_KEY, Heartbeat, TOKEN_KEY } from './heartbeat.ts';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

/** The member's API server as its pods reach it, with the pod's projected token (re-read as the kubelet replaces it). */
function inClusterClient(timeoutMs: number): RestClient {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new InputError('KUBERNETES_SERVICE_HOST is not set: the agent runs in a pod of the member cluster');
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new RestClient({ server, ca: readFileSync(`${SA_DIR}/ca.crt`), token: readFileSync(`${SA_DIR}/token`, 'utf8').trim(), tokenFile: `${SA_DIR}/token` }, timeoutMs, 'kubectl-federation-agent');
}

export class AgentCommand extends ControllerCommand {
  static override paths = [['agent']];
  static override usage = Command.Usage({
    description: "Pull mode: apply what the federation places on this member, report back, and keep the member's heartbeat",
    examples: [['In the member (join --pull deploys it)', '$0 agent --kubeconfig=/etc/federation/agent/kubeconfig --cluster=edge-1 --federation-id=abc123']],
  });

  kubeconfig = Option.String('--kubeconfig', { description: "Kubeconfig of the federation API server, with the agent's token (required)" });
  // Outside a pod (the benchmark runs agents as local processes): the member from a kubeconfig.
  memberKubeconfig = Option.String('--member-kubeconfig', { description: "Kubeconfig of this member, in place of the pod's own identity (an agent run outside the member)" });
  kubeconfigSecret = Option.String('--kubeconfig-secret', { description: 'The Secret (in $POD_NAMESPACE) holding that kubeconfig: a renewed token is written back there' });
  cluster = Option.String('--cluster', { description: "This member's name in the federation (required)" });
  federationName = Option.String('--federation-name', 'federation');
  federationId = Option.String('--federation-id', { description: "The federation's identity: labels every copy it made (required)" });
  period = Option.String('--heartbeat-period', '10s', { description: 'How often the heartbeat Lease is renewed' });
  resync = Option.String('--resync-period', '5m', { description: 'Compare every copy with its carrier at least this often (drift is put back)' });
  workers = Option.String('--workers', '8', { description: 'Copies applied at once' });
  tokenLifetime = Option.String('--token-lifetime', '168h', { description: "How long a renewed federation token lives" });
  tokenRenewal = Option.String('--token-renewal', '0.5', { description: "The share of the token's life after which it is renewed" });
  requestTimeout = Option.String('--request-timeout', '30s');
  healthzPort = Option.String('--healthz-port', '8080', { description: 'Port of /healthz (0: none)' });

  protected async run(): Promise<number> {
    if (!this.kubeconfig || !this.cluster || !this.federationId) throw new InputError('--kubeconfig, --cluster and --federation-id are required (join --pull sets them)');
    const periodMs = parseDuration(this.period, '--heartbeat-period');
    const requestTimeoutMs = parseDuration(this.requestTimeout, '--request-timeout');
    const renewAfter = Number(this.tokenRenewal);
    if (!(renewAfter > 0 && renewAfter < 1)) throw new InputError(`--token-renewal: ${this.tokenRenewal} is not a share between 0 and 1 (e.g. 0.5 renews half-way)`);
    const workers = Number(this.workers);
    if (!Number.isInteger(workers) || workers < 1) throw new InputError(`--workers: "${this.workers}" is not a whole number of at least 1`);
    const healthzPort = this.healthzPort === '0' ? 0 : parsePort(this.healthzPort, '--healthz-port');
    const namespace = process.env.POD_NAMESPACE ?? 'federation-system';
    const federation = await clientFromKubeconfig(this.kubeconfig, undefined, requestTimeoutMs);
    const member = this.memberKubeconfig ? await clientFromKubeconfig(this.memberKubeconfig, undefined, requestTimeoutMs) : inClusterClient(requestTimeoutMs);
    const names = { federation: this.federationName, federationId: this.federationId, cluster: this.cluster, namespace };

    const stop = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
    const beat = new Controller(
      () =>
        new Heartbeat({
          federation,
          member,
          cluster: this.cluster!,
          periodMs,
          secret: { namespace, name: this.kubeconfigSecret ?? memberObjectNames(names).agentKubeconfig },
          tokenLifetimeSeconds: Math.round(parseDuration(this.tokenLifetime, '--token-lifetime') / 1000) || MEMBER_TOKEN_LIFETIME_S,
          renewAfter,
          log,
        }),
      { workers: 2, log },
    );
    const copies = new Controller((enqueue) => new AgentCopies({ federation, member, names, enqueue, resyncMs: parseDuration(this.resync, '--resync-period'), log }), { workers, log }, new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 }));
    const server =
      healthzPort > 0
        ? await serveHealth(healthzPort, '0.0.0.0', () => {
            const last = beat.reconciler.lastBeat;
            if (last === 0) return 'no heartbeat has reached the federation yet';
            return Date.now() - last > 3 * periodMs ? `no heartbeat has reached the federation for ${Math.round((Date.now() - last) / 1000)}s` : undefined;
          })
        : undefined;
    log(`agent of cluster ${this.cluster} starting: federation ${federation.server}, heartbeat every ${this.period}`);
    beat.queue.add(HEARTBEAT_KEY);
    beat.queue.add(TOKEN_KEY);
    const caches = copies.reconciler.run(stop.signal);
    const running = [beat.run(stop.signal), copies.reconciler.waitForSync(stop.signal).then(() => copies.run(stop.signal))];
    await Promise.all(running);
    beat.queue.shutDown();
    copies.queue.shutDown();
    await caches;
    server?.close();
    federation.close();
    member.close();
    log('stopped');
    return 0;
  }
}
