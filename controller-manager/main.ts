// The federation controller manager: keeps each Cluster's Ready and Offline conditions true to
// its member's health, and propagates what users create in the federation to its members. Runs in
// the host cluster (init deploys it on the stock Node.js image) or anywhere with a kubeconfig of the
// federation: it talks to the federation and the members only, never to the host.
// Both controllers run on one runtime (runtime/): a member registry, keyed work queues, watches.
import { hostname } from 'node:os';
import { Command, Option } from 'clipanion';
import { ControllerCommand } from './command-base.ts';
import { main } from '../shared/cli/run.ts';
import { parseDuration } from '../shared/duration.ts';
import { InputError } from '../shared/errors.ts';
import { parseBool, parseOneOf, parsePort } from '../shared/flags.ts';
import { federationIdOf, type KubeSystem, MIN_TOKEN_LIFETIME_S } from '../shared/member-credentials.ts';
import { DEFAULT_PROPAGATED_KINDS, propagatedKindsFlag } from '../shared/propagation/kinds.ts';
import { Kubeconfig } from '../shared/kubeconfig.ts';
import { credentialsFor } from '../shared/kube/credentials.ts';
import { AgentCommand } from './agent/command.ts';
import { checkCertificates } from './certificates.ts';
import { clientFromKubeconfig } from './clients.ts';
import { EventRecorder } from './events.ts';
import { HealthController } from './health.ts';
import { serveHealth } from './health-server.ts';
import { LeaderElector } from './leader.ts';
import { MemberRegistry } from './members.ts';
import { TokenRenewer } from './member-tokens.ts';
import { RoleAggregation } from './role-aggregation.ts';
import { PropagationController } from './propagation/controller.ts';
import { Controller, retryUntilAnswered } from './runtime/controller.ts';
import { WorkQueue } from './runtime/queue.ts';

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

class ControllerManagerCommand extends ControllerCommand {
  static override paths = [Command.Default];
  static override usage = Command.Usage({
    description: "Keep each member Cluster's health, and propagate the federation's objects to its members",
    examples: [['Outside a cluster', '$0 --kubeconfig=federation.kubeconfig --federation-namespace=federation-system']],
  });

  // Checked in run(): clipanion would word a missing required option as an unknown command.
  kubeconfig = Option.String('--kubeconfig', { description: 'Kubeconfig of the federation API server (required)' });
  namespace = Option.String('--federation-namespace', { description: 'Namespace of the members\' Secrets in the federation (default: $POD_NAMESPACE)' });
  federationName = Option.String('--federation-name', 'federation', { description: 'The federation\'s name: labels every propagated copy' });
  controllers = Option.String('--controllers', 'health,propagation,role-aggregation', { description: 'Controllers to run: health, propagation, role-aggregation (fills aggregated ClusterRoles such as edit, as kube-controller-manager would)' });
  period = Option.String('--cluster-monitor-period', '10s', { description: 'How often each member is probed' });
  probeTimeout = Option.String('--probe-timeout', '5s', { description: 'How long one probe may take' });
  requestTimeout = Option.String('--request-timeout', '30s', { description: 'How long any other request may take, retries included (a watch: until it answers)' });
  // 16 keeps a thousand members' probes inside a period and the process under 150 MB; a member that
  // swallows packets holds a slot for --probe-timeout, so many such members delay the others.
  concurrency = Option.String('--concurrency', '16', { description: 'Probes in flight at once' });
  successThreshold = Option.String('--success-threshold', '1', { description: 'Good probes in a row before Ready turns True' });
  failureThreshold = Option.String('--failure-threshold', '3', { description: 'Failed probes in a row before Ready turns False' });
  statusRefresh = Option.String('--status-refresh-period', '5m', { description: 'Refresh lastProbeTime of an unchanged status this often' });
  propagatedKinds = Option.String('--propagated-kinds', DEFAULT_PROPAGATED_KINDS, { description: 'Kinds to propagate, comma-separated (Kind, Kind.group or plural.group)' });
  propagationWorkers = Option.String('--propagation-workers', '16', { description: 'Objects propagated at once' });
  resync = Option.String('--resync-period', '5m', { description: 'Compare every object with its copies at least this often (drift is put back)' });
  grace = Option.String('--rebalance-grace-period', '1m', { description: 'How long a NotReady member keeps its replicas before they move to the others' });
  memberPodSecurity = Option.String('--member-pod-security', 'baseline', { description: "Pod Security level of member namespaces whose federation namespace names none: restricted, baseline, or none (the member's default)" });
  tokenLifetime = Option.String('--member-token-lifetime', '168h', { description: 'How long a renewed member token lives (at least 10m); renewed once --member-token-renewal of its life has passed' });
  tokenRenewal = Option.String('--member-token-renewal', '0.5', { description: 'The share of a member token\'s life after which it is renewed (0.5: half-way)' });
  deletionTimeout = Option.String('--deletion-timeout', '5m', { description: 'How long a deleted object waits for an unreachable member before leaving its copy there' });
  leaderElect = Option.String('--leader-elect', { tolerateBoolean: true, description: 'Elect a leader among replicas (default true)' });
  leaseDuration = Option.String('--leader-elect-lease-duration', '15s');
  renewDeadline = Option.String('--leader-elect-renew-deadline', '10s');
  retryPeriod = Option.String('--leader-elect-retry-period', '2s');
  leaseNamespace = Option.String('--leader-elect-resource-namespace', 'kube-system');
  leaseName = Option.String('--leader-elect-resource-name', 'kubectl-federation-controller-manager');
  identity = Option.String('--identity', { description: 'This replica\'s name in the lease (default: $POD_NAME)' });
  healthzPort = Option.String('--healthz-port', '8080', { description: 'Port of /healthz (0: none)' });
  healthzAddress = Option.String('--healthz-bind-address', '0.0.0.0');
  verbosity = Option.String('-v,--v', '0', { description: 'Log verbosity; 2 logs the probes of each period' });

  protected async run(): Promise<number> {
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
    const enabled = new Set(this.controllers.split(',').map((c) => c.trim()));
    const known = ['health', 'propagation', 'role-aggregation'];
    const unknownController = [...enabled].find((c) => !known.includes(c));
    if (unknownController !== undefined) throw new InputError(`--controllers: "${unknownController}" is not a controller; write some of ${known.join(', ')}`);
    const kinds = propagatedKindsFlag(this.propagatedKinds);
    const resyncMs = parseDuration(this.resync, '--resync-period');
    const graceMs = parseDuration(this.grace, '--rebalance-grace-period');
    const deletionTimeoutMs = parseDuration(this.deletionTimeout, '--deletion-timeout');
    const memberPodSecurity = parseOneOf(this.memberPodSecurity, ['restricted', 'baseline', 'none'] as const, '--member-pod-security');
    const tokenLifetimeS = Math.round(parseDuration(this.tokenLifetime, '--member-token-lifetime') / 1000);
    if (tokenLifetimeS < MIN_TOKEN_LIFETIME_S) throw new InputError(`--member-token-lifetime: ${this.tokenLifetime} is shorter than the 10m Kubernetes issues at least; give 10m or more`);
    const tokenRenewal = Number(this.tokenRenewal);
    if (!(tokenRenewal > 0 && tokenRenewal < 1)) throw new InputError(`--member-token-renewal: ${this.tokenRenewal} is not a share between 0 and 1 (e.g. 0.5 renews half-way)`);
    const propagationWorkers = positiveInt(this.propagationWorkers, '--propagation-workers');
    const healthzPort = this.healthzPort === '0' ? 0 : parsePort(this.healthzPort, '--healthz-port');
    const requestTimeoutMs = parseDuration(this.requestTimeout, '--request-timeout');
    const federation = await clientFromKubeconfig(this.kubeconfig, undefined, requestTimeoutMs);
    const namespace = this.namespace ?? process.env.POD_NAMESPACE ?? 'federation-system';
    const identity = this.identity ?? process.env.POD_NAME ?? `${hostname()}_${process.pid}`;

    const stop = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());

    const elector = leaderElect
      ? new LeaderElector(federation, { namespace: this.leaseNamespace, name: this.leaseName, identity, ...leader })
      : undefined;
    const members = new MemberRegistry({ federation, namespace, podIP: process.env.POD_IP, probeTimeoutMs, requestTimeoutMs, log });
    const controllers: Controller[] = [];
    let health: Controller<HealthController> | undefined;
    if (enabled.has('health')) {
      const healthOptions = {
        federation,
        members,
        periodMs,
        probeTimeoutMs,
        thresholds: {
          success: positiveInt(this.successThreshold, '--success-threshold'),
          failure: positiveInt(this.failureThreshold, '--failure-threshold'),
        },
        statusRefreshMs: parseDuration(this.statusRefresh, '--status-refresh-period'),
        tokens: new TokenRenewer({ federation, members, namespace, lifetimeSeconds: tokenLifetimeS, renewAfter: tokenRenewal, log }),
        log,
      };
      health = new Controller((enqueue) => new HealthController({ ...healthOptions, enqueue }), { workers: positiveInt(this.concurrency, '--concurrency'), log });
      const reconciler = health.reconciler;
      controllers.push(health);
      if (Number(this.verbosity) >= 2) {
        let before = 0;
        setInterval(() => {
          log(`health: probed ${reconciler.probes - before} members in the last ${periodMs}ms (${members.names().length} joined; ${memory()})`);
          before = reconciler.probes;
        }, periodMs).unref();
      }
    }
    // Certificates near expiry: an Event now and twice a day (the events dedupe repeats).
    const certEvents = new EventRecorder(federation, log);
    const ownCreds = await credentialsFor(Kubeconfig.load(this.kubeconfig).resolve(undefined));
    const certCheck = () => void checkCertificates({ clientCert: ownCreds.cert, server: ownCreds.server, ca: ownCreds.ca }, certEvents, log);
    // Served before anything that may wait on the API server: a starting replica is healthy.
    const server =
      healthzPort > 0
        ? await serveHealth(healthzPort, this.healthzAddress, () => {
            if (!elector?.isLeader && elector) return undefined; // a standby is healthy
            // Probes are due every period: none finished in three while members exist means stuck.
            return health && members.names().length > 0 && health.lastDone > 0 && Date.now() - health.lastDone > 3 * periodMs + probeTimeoutMs * 2
              ? 'the probe loop has stalled'
              : undefined;
          }, () => health?.reconciler.probeTimes() ?? {})
        : undefined;
    const caches: Promise<unknown>[] = [members.run(stop.signal)];
    let propagation: PropagationController | undefined;
    if (enabled.has('propagation')) {
      const kubeSystem = await retryUntilAnswered('reading the federation\'s identity', () => federation.get<KubeSystem>('/api/v1/namespaces/kube-system'), stop.signal, log);
      if (!kubeSystem) return 0;
      const events = new EventRecorder(federation, log);
      const propagationOptions = {
        federation,
        members,
        events,
        federationName: this.federationName,
        ownNamespace: namespace,
        federationId: federationIdOf(kubeSystem),
        kinds,
        resyncMs,
        graceMs,
        deletionTimeoutMs,
        ...(memberPodSecurity !== 'none' ? { memberPodSecurity } : {}),
        log,
      };
      const controller = new Controller((enqueue) => new PropagationController(propagationOptions, enqueue), { workers: propagationWorkers, log }, new WorkQueue({ baseDelayMs: 500, maxDelayMs: 60_000 }));
      propagation = controller.reconciler;
      caches.push((await propagation.start(stop.signal)).done);
      controllers.push(controller);
      if (Number(this.verbosity) >= 2) {
        let before = { reconciles: 0, sync: 0 };
        setInterval(() => {
          const now = { reconciles: controller.reconciles, sync: members.requestCounts().sync };
          log(`propagation: ${now.reconciles - before.reconciles} reconciles, ${now.sync - before.sync} member requests in the last ${periodMs}ms (queue ${controller.queue.length}; ${memory()})`);
          before = now;
        }, periodMs).unref();
      }
    }

    let aggregation: RoleAggregation | undefined;
    if (enabled.has('role-aggregation')) {
      const controller = new Controller((enqueue) => new RoleAggregation({ federation, log }, enqueue), { workers: 1, log });
      aggregation = controller.reconciler;
      caches.push(aggregation.roles.run(stop.signal));
      controllers.push(controller);
    }

    log(`controller manager ${identity} starting: members' Secrets in namespace ${namespace}, probing every ${this.period}, controllers ${[...enabled].join(', ')}`);
    // Only the leader reports certificates near expiry: at each new leadership, then twice a day.
    let certTimer: NodeJS.Timeout | undefined;
    const work = async (signal: AbortSignal) => {
      certCheck();
      clearInterval(certTimer);
      certTimer = setInterval(certCheck, 12 * 3600_000).unref();
      // Reconciling before the caches are filled would report members' Secrets missing.
      await members.waitForSync(signal);
      await propagation?.waitForSync(signal);
      await aggregation?.roles.waitForSync(signal);
      await Promise.all(controllers.map((c) => c.run(signal)));
    };
    if (elector) {
      log(`waiting to lead (lease ${this.leaseNamespace}/${this.leaseName})`);
      // Leadership can be lost and won again in one process. Losing it (renewals failed for longer
      // than the renew deadline: the API server was away, as while certs renew rolls it) stops the
      // work at once, as client-go's leader election would; the process then campaigns again,
      // keeping its caches, instead of exiting and counting as a crash.
      while (await elector.acquire(stop.signal)) {
        log(`${identity} leads`);
        const term = new AbortController();
        const endTerm = () => term.abort();
        stop.signal.addEventListener('abort', endTerm, { once: true });
        const running = work(term.signal);
        const outcome = await elector.hold(stop.signal);
        term.abort();
        stop.signal.removeEventListener('abort', endTerm);
        await running;
        if (outcome !== 'lost') break;
        log(`${identity} lost the lease (renewals failed for longer than --leader-elect-renew-deadline): its work stopped; waiting to lead again`);
      }
      clearInterval(certTimer);
    } else {
      await work(stop.signal);
    }
    for (const c of controllers) c.queue.shutDown();
    await Promise.all(caches);
    server?.close();
    federation.close();
    log('stopped');
    return 0;
  }
}

main({ binaryName: 'controller-manager', commands: [ControllerManagerCommand, AgentCommand] });
