// The federation controller manager: keeps each Cluster's Ready and Offline conditions true to
// its member's health. Runs in the host cluster (init deploys it on the stock Node.js image) or
// anywhere with --host-kubeconfig.
import { hostname } from 'node:os';
import { Command, Option } from 'clipanion';
import { reportError } from '../shared/cli/command.ts';
import { main } from '../shared/cli/run.ts';
import { parseDuration } from '../shared/duration.ts';
import { InputError } from '../shared/errors.ts';
import { parseBool, parsePort } from '../shared/flags.ts';
import { clientFromKubeconfig, inClusterClient } from './clients.ts';
import { ClusterController } from './controller.ts';
import { serveHealth } from './health-server.ts';
import { LeaderElector } from './leader.ts';

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag}: "${value}" is not a whole number of at least 1`);
  return n;
}

const memory = () => {
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round(n / 1048576);
  return `rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB`;
};

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

class ControllerManagerCommand extends Command {
  static override paths = [Command.Default];
  static override usage = Command.Usage({
    description: 'Keep each member Cluster of a federation reporting whether it is Ready',
    examples: [['Outside a cluster', '$0 --kubeconfig=federation.kubeconfig --host-kubeconfig=host.kubeconfig']],
  });

  // Checked in run(): clipanion would word a missing required option as an unknown command.
  kubeconfig = Option.String('--kubeconfig', { description: 'Kubeconfig of the federation API server (required)' });
  hostKubeconfig = Option.String('--host-kubeconfig', { description: 'Kubeconfig of the host cluster (default: in-cluster)' });
  hostContext = Option.String('--host-context', { description: 'Context in --host-kubeconfig' });
  namespace = Option.String('--federation-namespace', { description: 'Namespace of the members\' Secrets in the host (default: $POD_NAMESPACE)' });
  period = Option.String('--cluster-monitor-period', '10s', { description: 'How often each member is probed' });
  probeTimeout = Option.String('--probe-timeout', '5s', { description: 'How long one probe may take' });
  // 16 keeps a thousand members' round under a second and the process under 150 MB; a member that
  // swallows packets holds a slot for --probe-timeout, so many such members lengthen a round.
  concurrency = Option.String('--concurrency', '16', { description: 'Probes in flight at once' });
  successThreshold = Option.String('--success-threshold', '1', { description: 'Good probes in a row before Ready turns True' });
  failureThreshold = Option.String('--failure-threshold', '3', { description: 'Failed probes in a row before Ready turns False' });
  statusRefresh = Option.String('--status-refresh-period', '5m', { description: 'Refresh lastProbeTime of an unchanged status this often' });
  leaderElect = Option.String('--leader-elect', { tolerateBoolean: true, description: 'Elect a leader among replicas (default true)' });
  leaseDuration = Option.String('--leader-elect-lease-duration', '15s');
  renewDeadline = Option.String('--leader-elect-renew-deadline', '10s');
  retryPeriod = Option.String('--leader-elect-retry-period', '2s');
  leaseNamespace = Option.String('--leader-elect-resource-namespace', 'kube-system');
  leaseName = Option.String('--leader-elect-resource-name', 'kubectl-federation-controller-manager');
  identity = Option.String('--identity', { description: 'This replica\'s name in the lease (default: $POD_NAME)' });
  healthzPort = Option.String('--healthz-port', '8080', { description: 'Port of /healthz (0: none)' });
  healthzAddress = Option.String('--healthz-bind-address', '0.0.0.0');
  verbosity = Option.String('-v,--v', '0', { description: 'Log verbosity; 2 logs every probe round' });

  override async execute(): Promise<number> {
    try {
      return await this.run();
    } catch (err) {
      return reportError(err, this.context.stderr);
    }
  }

  private async run(): Promise<number> {
    if (!this.kubeconfig) throw new InputError("--kubeconfig is required: the federation API server's kubeconfig");
    const periodMs = parseDuration(this.period, '--cluster-monitor-period');
    const probeTimeoutMs = parseDuration(this.probeTimeout, '--probe-timeout');
    const leaderElect = parseBool(this.leaderElect, '--leader-elect', true);
    const leader = {
      leaseDurationMs: parseDuration(this.leaseDuration, '--leader-elect-lease-duration'),
      renewDeadlineMs: parseDuration(this.renewDeadline, '--leader-elect-renew-deadline'),
      retryPeriodMs: parseDuration(this.retryPeriod, '--leader-elect-retry-period'),
    };
    if (leader.renewDeadlineMs >= leader.leaseDurationMs) {
      throw new InputError('--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration');
    }
    const healthzPort = this.healthzPort === '0' ? 0 : parsePort(this.healthzPort, '--healthz-port');
    const federation = await clientFromKubeconfig(this.kubeconfig, undefined, 30_000);
    const host = this.hostKubeconfig ? await clientFromKubeconfig(this.hostKubeconfig, this.hostContext, 30_000) : inClusterClient(30_000);
    const namespace = this.namespace ?? process.env.POD_NAMESPACE ?? 'federation-system';
    const identity = this.identity ?? process.env.POD_NAME ?? `${hostname()}_${process.pid}`;

    const stop = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());

    const elector = leaderElect
      ? new LeaderElector(federation, { namespace: this.leaseNamespace, name: this.leaseName, identity, ...leader })
      : undefined;
    const controller = new ClusterController({
      federation,
      host,
      namespace,
      periodMs,
      probeTimeoutMs,
      concurrency: positiveInt(this.concurrency, '--concurrency'),
      thresholds: {
        success: positiveInt(this.successThreshold, '--success-threshold'),
        failure: positiveInt(this.failureThreshold, '--failure-threshold'),
      },
      statusRefreshMs: parseDuration(this.statusRefresh, '--status-refresh-period'),
      podIP: process.env.POD_IP,
      canWrite: () => !elector || elector.isLeader,
      log,
      ...(Number(this.verbosity) >= 2
        ? {
            onRound: (n: number, clusters: number, ms: number) =>
              log(`round ${n}: probed ${clusters} clusters in ${ms}ms (${memory()})`),
          }
        : {}),
    });
    const server =
      healthzPort > 0
        ? await serveHealth(healthzPort, this.healthzAddress, () => {
            if (!elector?.isLeader && elector) return undefined; // a standby is healthy
            return controller.lastRound && Date.now() - controller.lastRound > 3 * periodMs + probeTimeoutMs * 2
              ? 'the probe loop has stalled'
              : undefined;
          })
        : undefined;

    log(`controller manager ${identity} starting: members' Secrets in namespace ${namespace}, probing every ${this.period}`);
    const caches = Promise.all([controller.clusters.run(stop.signal), controller.secrets.run(stop.signal)]);
    let code = 0;
    if (elector) {
      log(`waiting to lead (lease ${this.leaseNamespace}/${this.leaseName})`);
      if (await elector.acquire(stop.signal)) {
        log(`${identity} leads`);
        const work = controller.run(stop.signal);
        const outcome = await elector.hold(stop.signal);
        if (outcome === 'lost') {
          log(`${identity} lost the lease: exiting so that a restart starts clean`);
          code = 1;
          stop.abort();
        }
        await work;
      }
    } else {
      await controller.run(stop.signal);
    }
    await caches;
    server?.close();
    federation.close();
    host.close();
    log('stopped');
    return code;
  }
}

main({ binaryName: 'controller-manager', commands: [ControllerManagerCommand] });
