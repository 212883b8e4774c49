import type { V1Node, V1NodeList, V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { UserError } from '../../errors.ts';
import { collectionPath } from '../../kube/resources.ts';
import { ApiError, ConnectionError, type RestClient } from '../../kube/rest.ts';
import { apiserverService } from '../../manifests/service.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll, WaitTimeoutError } from '../../wait.ts';
import { type Endpoint, type InitData, need } from '../data.ts';

const endpointOf = (host: string, port: number): Endpoint => ({
  host,
  port,
  url: `https://${isIP(host) === 6 ? `[${host}]` : host}${port === 443 ? '' : `:${port}`}`,
});

/** After this long without an address, init looks for why (once) instead of waiting out the timeout. */
const LOAD_BALANCER_HINT_AFTER_MS = 5_000;
const WAYS_OUT = 'run init again with --api-server-service-type=NodePort, or install a load-balancer controller (cloud-provider-kind on kind, MetalLB on bare metal)';

/**
 * Why a LoadBalancer may never get an address: kind's nodes (provider ID kind://) have none unless
 * cloud-provider-kind runs beside them; nodes with no provider ID have no cloud provider, and with
 * no Event on the Service no controller has even tried. undefined: nothing suspicious.
 */
export async function loadBalancerDoubt(client: RestClient, namespace: string): Promise<string | undefined> {
  const nodes = await client.get<V1NodeList>(collectionPath('v1', 'Node'), { query: { limit: 50 } });
  if (nodes.items.some((n) => n.spec?.providerID?.startsWith('kind://'))) {
    return `the host looks like a kind cluster (provider ID kind://), where a LoadBalancer gets no address unless cloud-provider-kind runs: ${WAYS_OUT}`;
  }
  if (nodes.items.length > 0 && nodes.items.every((n) => !n.spec?.providerID)) {
    const events = await client.get<{ items: unknown[] }>(collectionPath('v1', 'Event', namespace), {
      query: { fieldSelector: `involvedObject.kind=Service,involvedObject.name=apiserver`, limit: 1 },
    });
    if (events.items.length === 0) {
      return `no load-balancer controller seems to run on the host (its nodes have no cloud provider and nothing has acted on the Service): ${WAYS_OUT}`;
    }
  }
  return undefined;
}

/** What the address wait says, held back while other steps' lines are on the screen. */
interface Report {
  warn(text: string): void;
  progress(what: string, elapsedMs: number, reason: string): void;
}

/**
 * The wait for the load balancer's address. expose-apiserver begins it and wait-for-address
 * finishes it; the steps between (credentials, the controller manager) need no address and run
 * meanwhile. Its warnings are held until wait-for-address shows them, so no line is cut in two.
 */
export class AddressWait {
  readonly endpoint: Promise<Endpoint>;
  private held: string[] = [];
  private out: Report | undefined;
  private readonly abort = new AbortController();
  constructor(run: (report: Report, signal: AbortSignal) => Promise<Endpoint>) {
    this.endpoint = run({
      warn: (text) => (this.out ? this.out.warn(text) : this.held.push(text)),
      progress: (what, ms, reason) => this.out?.progress(what, ms, reason),
    }, this.abort.signal);
    // Its failure is wait-for-address's to report, not an unhandled rejection meanwhile.
    this.endpoint.catch(() => undefined);
  }
  /** From now on, what the wait says goes to out. */
  show(out: Report): void {
    this.out = out;
    for (const text of this.held.splice(0)) out.warn(text);
  }
  /** A step before wait-for-address failed: no more polls. */
  stop(): void {
    this.abort.abort();
  }
}

async function waitForLoadBalancer(d: InitData, client: RestClient, path: string, report: Report, signal: AbortSignal): Promise<Endpoint> {
  const { cfg } = d;
  const what = `a load balancer address for Service ${cfg.namespace}/apiserver`;
  const started = Date.now();
  // Its own polls, counted apart: the steps running meanwhile send theirs on the same client.
  let polls = 0;
  let noAddressYet = 'no ingress address yet';
  let doubtChecked = false;
  try {
    return await poll(
      async () => {
        if (!doubtChecked && Date.now() - started >= LOAD_BALANCER_HINT_AFTER_MS) {
          doubtChecked = true;
          const before = client.requests;
          const doubt = await loadBalancerDoubt(client, cfg.namespace).finally(() => (polls += client.requests - before)).catch((err: unknown) => {
            if (err instanceof ApiError || err instanceof ConnectionError) return undefined;
            throw err;
          });
          if (doubt) {
            report.warn(doubt);
            noAddressYet = 'no ingress address yet (see the warning above)';
          }
        }
        polls += 1;
        const svc = await client.get<V1Service>(path);
        // Every address the load balancer has goes into the certificate; clients use the first.
        const addresses = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => [i.ip, i.hostname]).filter((a): a is string => Boolean(a));
        if (addresses.length === 0) return notYet(noAddressYet);
        d.endpointAliases = addresses.slice(1);
        return done(endpointOf(addresses[0]!, 443));
      },
      // A short interval: the steps that wait on the address start as soon as it is there.
      { what, timeoutMs: cfg.waitTimeoutMs, intervalMs: 250, signal, onWait: (ms, reason) => report.progress(what, ms, reason) },
    );
  } catch (err) {
    if (err instanceof WaitTimeoutError) {
      throw new UserError(
        `${err.message}; the cluster may have no load balancer provider: ${WAYS_OUT}`,
      );
    }
    throw err;
  } finally {
    // The whole wait is the cluster's time, including the part the next steps ran in.
    d.waitedMs += Date.now() - started;
    d.waitRequests += polls;
  }
}

/** A node's ExternalIP, else its InternalIP: where a NodePort is reachable. */
async function nodeAddress(client: RestClient): Promise<string> {
  const nodes = await client.get<V1NodeList>(collectionPath('v1', 'Node'), { query: { limit: 50 } });
  const ready = (n: V1Node) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const ordered = [...nodes.items.filter(ready), ...nodes.items.filter((n) => !ready(n))];
  for (const type of ['ExternalIP', 'InternalIP']) {
    for (const node of ordered) {
      const address = node.status?.addresses?.find((a) => a.type === type)?.address;
      if (address) return address;
    }
  }
  throw new UserError('no node of the host cluster has an ExternalIP or InternalIP: pass --api-server-advertise-address=IP');
}

/** Which address the kubeconfig gets, when the load balancer has several (IPs and host names). */
function describeEndpoint(d: InitData): string {
  const endpoint = need(d.endpoint, 'the endpoint');
  const aliases = d.endpointAliases ?? [];
  return aliases.length > 0 ? `${endpoint.url} (the first of ${aliases.length + 1} load balancer addresses; the certificate names all)` : endpoint.url;
}

/**
 * Step 2: the Service that exposes the federation API server. A NodePort's address is known at
 * once; a load balancer's is awaited by wait-for-address, while the steps before it run.
 */
export const exposeAPIServer: Step<InitData> = {
  name: 'expose-apiserver',
  title: () => 'Creating federation control plane service',
  run: async (d) => {
    const { cfg, host, hostClient } = d;
    const svc = await host.apply(apiserverService(cfg));
    if (!hostClient) {
      // A dry run learns no address: the certificate and kubeconfig it would write are redacted.
      d.endpoint = endpointOf(cfg.advertiseAddress ?? 'pending.invalid', cfg.nodePort ?? 443);
      return undefined;
    }
    if (cfg.serviceType === 'LoadBalancer') {
      const path = collectionPath('v1', 'Service', cfg.namespace) + '/apiserver';
      d.addressWait = new AddressWait((report, signal) => waitForLoadBalancer(d, hostClient, path, report, signal));
      return 'its load balancer address is awaited below';
    }
    const port = svc.spec?.ports?.[0]?.nodePort;
    if (!port) throw new Error(`Service ${cfg.namespace}/apiserver has no node port`);
    d.endpoint = endpointOf(cfg.advertiseAddress ?? (await nodeAddress(hostClient)), port);
    return describeEndpoint(d);
  },
};

/** The load balancer's address, which the API server's certificate and the kubeconfig name. */
export const waitForAddress: Step<InitData> = {
  name: 'wait-for-address',
  title: (d) => `Waiting for a load balancer address for Service ${d.cfg.namespace}/apiserver`,
  skip: (d) => d.addressWait === undefined,
  run: async (d) => {
    const wait = need(d.addressWait, 'the address wait');
    wait.show(d.out);
    d.endpoint = await wait.endpoint;
    return describeEndpoint(d);
  },
};
