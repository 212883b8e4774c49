import type { V1Node, V1NodeList, V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { UserError } from '../../errors.ts';
import { collectionPath } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import { apiserverService } from '../../manifests/service.ts';
import type { Step } from '../../steps.ts';
import { done, notYet, poll, WaitTimeoutError } from '../../wait.ts';
import type { Endpoint, InitData } from '../data.ts';

const endpointOf = (host: string, port: number): Endpoint => ({
  host,
  port,
  url: `https://${isIP(host) === 6 ? `[${host}]` : host}${port === 443 ? '' : `:${port}`}`,
});

async function waitForLoadBalancer(d: InitData, client: RestClient, path: string): Promise<Endpoint> {
  const { cfg, out } = d;
  const what = `a load balancer address for Service ${cfg.namespace}/apiserver`;
  const started = Date.now();
  try {
    return await poll(
      async () => {
        const svc = await client.get<V1Service>(path);
        const ingress = svc.status?.loadBalancer?.ingress?.[0];
        const address = ingress?.ip ?? ingress?.hostname;
        return address ? done(endpointOf(address, 443)) : notYet('no ingress address yet');
      },
      { what, timeoutMs: cfg.waitTimeoutMs, intervalMs: 1000, onWait: (ms, reason) => out.progress(what, ms, reason) },
    );
  } catch (err) {
    if (err instanceof WaitTimeoutError) {
      throw new UserError(
        `${err.message}; the cluster may have no load balancer provider: run init again with --api-server-service-type=NodePort --api-server-advertise-address=IP`,
      );
    }
    throw err;
  } finally {
    d.waitedMs += Date.now() - started;
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
    return d.endpoint.url;
  },
};
