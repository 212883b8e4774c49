// What kube-proxy, cluster DNS and a cloud load balancer do for the node's pods and clients, played
// in user space: each Service's cluster IP (and node port, and load-balancer address, which this
// also assigns) is a local address of the node with a TCP proxy to a ready endpoint from the
// Service's EndpointSlices. Service names reach pods through their hosts files and environment.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { RestClient } from '../../shared/kube/rest.ts';
import type { NodeNetwork } from './network.ts';

interface Endpoint {
  host: string;
  port: number;
}

interface Listener {
  server: Server;
  ip: string;
  /** The endpoints of the Service port this listener serves, as last synced. */
  endpoints: Endpoint[];
  next: number;
  sockets: Set<Socket>;
}

export interface ServiceTableOptions {
  client: RestClient;
  network: NodeNetwork;
  /** Endpoints the cluster does not publish: the `kubernetes` Service of a plane whose API server reconciles none. */
  fixedEndpoints: Record<string, Endpoint[]>;
  /** First three octets of the /24 load-balancer addresses come from. */
  loadBalancerSubnet: string;
  log(line: string): void;
}

const envName = (name: string) => name.toUpperCase().replace(/-/g, '_');

export class ServiceTable {
  private readonly opts: ServiceTableOptions;
  private services: V1Service[] = [];
  private slices: V1EndpointSlice[] = [];
  private readonly listeners = new Map<string, Listener>();
  private nextLoadBalancerHost = 2;
  /** Addresses that could not be listened on, so each is reported once, not every sync. */
  private readonly failed = new Set<string>();

  constructor(opts: ServiceTableOptions) {
    this.opts = opts;
  }

  /** The variables the kubelet gives a container for the Services it may see. */
  environment(namespace: string, serviceLinks: boolean): Record<string, string> {
    const env: Record<string, string> = {};
    for (const svc of this.services) {
      const meta = svc.metadata!;
      const master = meta.namespace === 'default' && meta.name === 'kubernetes';
      if (!master && !(serviceLinks && meta.namespace === namespace)) continue;
      const ip = svc.spec?.clusterIP;
      const first = svc.spec?.ports?.[0];
      if (!ip || ip === 'None' || !first) continue;
      const prefix = envName(meta.name!);
      env[`${prefix}_SERVICE_HOST`] = ip;
      env[`${prefix}_SERVICE_PORT`] = String(first.port);
      env[`${prefix}_PORT`] = `tcp://${ip}:${first.port}`;
      for (const p of svc.spec?.ports ?? []) {
        if (p.name) env[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
        env[`${prefix}_PORT_${p.port}_TCP`] = `tcp://${ip}:${p.port}`;
      }
    }
    return env;
  }

  /**
   * hosts-file lines standing in for cluster DNS: name.namespace.svc[.cluster.local], and name in
   * the pod's namespace; for a headless Service, each endpoint with a host name (a StatefulSet's
   * pods) as hostname.name.namespace.svc[.cluster.local], as cluster DNS answers them.
   */
  hostsLines(namespace: string): string[] {
    return this.services.flatMap((svc) => {
      const { name, namespace: ns } = svc.metadata!;
      const ip = svc.spec?.clusterIP;
      if (ip === 'None') return this.podRecords(ns!, name!);
      if (!ip) return [];
      const names = [`${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`, ...(ns === namespace ? [name!] : [])];
      return [`${ip}\t${names.join(' ')}`];
    });
  }

  private podRecords(namespace: string, service: string): string[] {
    return this.slices
      .filter((s) => s.metadata?.namespace === namespace && s.metadata.labels?.['kubernetes.io/service-name'] === service)
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.hostname && e.addresses[0])
      .map((e) => `${e.addresses[0]}\t${e.hostname}.${service}.${namespace}.svc ${e.hostname}.${service}.${namespace}.svc.cluster.local`);
  }

  /** Reads the Services and EndpointSlices without serving them: a node of a plane whose Services another node serves. */
  async load(): Promise<void> {
    const { client } = this.opts;
    [this.services, this.slices] = await Promise.all([
      client.get<{ items: V1Service[] }>('/api/v1/services').then((l) => l.items),
      client.get<{ items: V1EndpointSlice[] }>('/apis/discovery.k8s.io/v1/endpointslices').then((l) => l.items),
    ]);
  }

  async sync(): Promise<void> {
    await this.load();
    const { services, slices } = this;
    const wanted = new Map<string, { ip: string; port: number; endpoints: Endpoint[]; service: string }>();
    for (const svc of services) {
      const meta = svc.metadata!;
      const spec = svc.spec!;
      if (!spec.clusterIP || spec.clusterIP === 'None') continue;
      const ingress = spec.type === 'LoadBalancer' ? await this.loadBalancerAddress(svc) : undefined;
      for (const p of spec.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        const endpoints = this.opts.fixedEndpoints[`${meta.namespace}/${meta.name}`] ?? readyEndpoints(slices, meta.namespace!, meta.name!, p.name ?? '');
        const add = (ip: string, port: number) => wanted.set(`${ip}:${port}`, { ip, port, endpoints, service: `${meta.namespace}/${meta.name}` });
        add(spec.clusterIP, p.port);
        if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort) add(this.opts.network.nodeIP, p.nodePort);
        if (ingress) add(ingress, p.port);
      }
    }
    for (const [key, want] of wanted) {
      const listener = this.listeners.get(key) ?? (await this.listen(key, want.ip, want.port));
      if (!listener) continue;
      // Every change of what an address forwards to, in the node's log: a reset a client saw is
      // explained by the line before it (no endpoint ready at that moment), or is not the proxy's.
      const [before, after] = [listener.endpoints, want.endpoints].map((e) => e.map((x) => `${x.host}:${x.port}`).join(',') || 'none');
      if (before !== after) this.opts.log(`service ${want.service} at ${key}: endpoints ${before} -> ${after}`);
      listener.endpoints = want.endpoints;
    }
    for (const key of [...this.listeners.keys()]) if (!wanted.has(key)) await this.close(key);
  }

  /** The Service's load-balancer address: assigned here (and written to its status) if it has none. */
  private async loadBalancerAddress(svc: V1Service): Promise<string> {
    const existing = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    if (existing) return existing;
    const subnet = this.opts.loadBalancerSubnet;
    const used = new Set([...this.listeners.values()].map((l) => l.ip));
    while (used.has(`${subnet}.${this.nextLoadBalancerHost}`)) this.nextLoadBalancerHost += 1;
    if (this.nextLoadBalancerHost > 254) throw new Error(`no load-balancer address left in ${subnet}.0/24`);
    const ip = `${subnet}.${this.nextLoadBalancerHost}`;
    this.nextLoadBalancerHost += 1;
    const meta = svc.metadata!;
    await this.opts.client.request('PATCH', `/api/v1/namespaces/${meta.namespace}/services/${meta.name}/status`, {
      body: { status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } },
      contentType: 'application/merge-patch+json',
    });
    this.opts.log(`service ${meta.namespace}/${meta.name}: load balancer ${ip}`);
    return ip;
  }

  private async listen(key: string, ip: string, port: number): Promise<Listener | undefined> {
    if (ip !== this.opts.network.nodeIP) await this.opts.network.addLocalAddress(ip);
    const listener: Listener = { server: createServer(), ip, endpoints: [], next: 0, sockets: new Set() };
    listener.server.on('connection', (socket) => this.forward(listener, socket));
    try {
      await new Promise<void>((resolve, reject) => {
        listener.server.once('error', reject);
        listener.server.listen(port, ip, () => resolve());
      });
    } catch (err) {
      if (!this.failed.has(key)) this.opts.log(`cannot listen on ${key}: ${(err as Error).message}`);
      this.failed.add(key);
      return undefined;
    }
    this.failed.delete(key);
    this.listeners.set(key, listener);
    return listener;
  }

  private forward(listener: Listener, socket: Socket): void {
    const endpoints = listener.endpoints;
    if (endpoints.length === 0) {
      // No ready endpoint: refuse, as kube-proxy does (a reset, not a hang).
      socket.resetAndDestroy();
      return;
    }
    const target = endpoints[listener.next++ % endpoints.length]!;
    const upstream = createConnection({ host: target.host, port: target.port });
    listener.sockets.add(socket);
    listener.sockets.add(upstream);
    const close = () => {
      socket.destroy();
      upstream.destroy();
      listener.sockets.delete(socket);
      listener.sockets.delete(upstream);
    };
    socket.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    socket.pipe(upstream).pipe(socket);
  }

  private async close(key: string): Promise<void> {
    const listener = this.listeners.get(key);
    if (!listener) return;
    this.listeners.delete(key);
    for (const s of listener.sockets) s.destroy();
    await new Promise<void>((resolve) => listener.server.close(() => resolve()));
    const stillUsed = [...this.listeners.values()].some((l) => l.ip === listener.ip);
    if (!stillUsed && listener.ip !== this.opts.network.nodeIP) await this.opts.network.removeLocalAddress(listener.ip);
  }

  async stop(): Promise<void> {
    for (const key of [...this.listeners.keys()]) await this.close(key);
  }
}

/** Ready endpoints of a Service port, from the EndpointSlices the real controller maintains. */
function readyEndpoints(slices: V1EndpointSlice[], namespace: string, service: string, portName: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.metadata?.namespace !== namespace || slice.metadata.labels?.['kubernetes.io/service-name'] !== service) continue;
    const port = slice.ports?.find((p) => (p.name ?? '') === portName)?.port;
    if (!port) continue;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const host of e.addresses) out.push({ host, port });
    }
  }
  return out;
}
