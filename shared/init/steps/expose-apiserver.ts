import type { V1Node, V1NodeList, V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { UserError } from '../../errors.ts';
import { collectionPath } from '../../kube/resources.ts';
import { ApiError, ConnectionError, type RestClient } from '../../kube/rest.ts';
import { apiserverService } from '../../manifests/service.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll, WaitTimeoutError } from '../../wait.ts';
import type { Endpoint, InitData } from '../data.ts';

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

async function waitForLoadBalancer(d: InitData, client: RestClient, path: string): Promise<Endpoint> {
  const { cfg, out } = d;
  const what = `a load balancer address for Service ${cfg.namespace}/apiserver`;
  const started = Date.now();
  const sent = client.requests;
  let noAddressYet = 'no ingress address yet';
  let doubtChecked = false;
  try {
    return await poll(
      async () => {
        if (!doubtChecked && Date.now() - started >= LOAD_BALANCER_HINT_AFTER_MS) {
          doubtChecked = true;
          const doubt = await loadBalancerDoubt(client, cfg.namespace).catch((err: unknown) => {
            if (err instanceof ApiError || err instanceof ConnectionError) return undefined;
            throw err;
          });
          if (doubt) {
            out.warn(doubt);
            noAddressYet = 'no ingress address yet (see the warning above)';
          }
        }
        const svc = await client.get<V1Service>(path);
        // Every address the load balancer has goes into the certificate; clients use the first.
        const addresses = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => [i.ip, i.hostname]).filter((a): a is string => Boolean(a));
        if (addresses.length === 0) return notYet(noAddressYet);
        d.endpointAliases = addresses.slice(1);
        return done(endpointOf(addresses[0]!, 443));
      },
      { what, timeoutMs: cfg.waitTimeoutMs, intervalMs: 1000, onWait: (ms, reason) => out.progress(what, ms, reason) },
    );
  } catch (err) {
    if (err instanceof WaitTimeoutError) {
      throw new UserError(
        `${err.message}; the cluster may have no load balancer provider: ${WAYS_OUT}`,
      );
    }
    throw err;
  } finally {
    d.waitedMs += Date.now() - started;
    d.waitRequests += client.requests - sent;
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

/** Step 2: the Service that exposes the federation API server, and the address clients use. */
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
      d.endpoint = await waitForLoadBalancer(d, hostClient, collectionPath('v1', 'Service', cfg.namespace) + '/apiserver');
    } else {
      const port = svc.spec?.ports?.[0]?.nodePort;
      if (!port) throw new Error(`Service ${cfg.namespace}/apiserver has no node port`);
      d.endpoint = endpointOf(cfg.advertiseAddress ?? (await nodeAddress(hostClient)), port);
    }
    const aliases = d.endpointAliases ?? [];
    // Which address the kubeconfig gets, when the load balancer has several (IPs and host names).
    return aliases.length > 0 ? `${d.endpoint.url} (the first of ${aliases.length + 1} load balancer addresses; the certificate names all)` : d.endpoint.url;
  },
};
