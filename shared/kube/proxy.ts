// Which proxy a request to an API server goes through, decided as kubectl (client-go) decides it:
// the cluster's `proxy-url` if the kubeconfig gives one, else HTTPS_PROXY / https_proxy unless
// NO_PROXY / no_proxy exempts the server, and never an environment proxy for localhost or a
// loopback address (Go's ProxyFromEnvironment). Node's own Agent then tunnels through it (CONNECT).
import { BlockList, isIP } from 'node:net';
import { UserError } from '../errors.ts';

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  return family === 6 && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

/** Whether one NO_PROXY entry exempts host:port (Go's rules: "*", IPs, CIDRs, domains, host:port). */
function exempts(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  let name = entry;
  const withPort = /^(.*):(\d+)$/.exec(entry);
  if (withPort && !entry.includes('/') && isIP(entry) === 0) {
    if (withPort[2] !== port) return false;
    name = withPort[1]!;
  }
  name = name.replace(/^\[|\]$/g, '').toLowerCase();
  const cidr = /^(.+)\/(\d+)$/.exec(name);
  const family = isIP(host);
  if (cidr && isIP(cidr[1]!) !== 0) {
    if (family !== isIP(cidr[1]!)) return false;
    const list = new BlockList();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(cidr[1]!, Number(cidr[2]), type);
    return list.check(host, type);
  }
  if (isIP(name) !== 0) return name === host;
  // ".example.com" matches subdomains only; "example.com" the domain and its subdomains.
  if (name.startsWith('.')) return host.endsWith(name);
  return host === name || host.endsWith(`.${name}`);
}

/**
 * The proxy URL for requests to server, or undefined for a direct connection. Throws a UserError
 * for a proxy this client cannot speak (kubectl also knows socks5: say so rather than connect
 * directly, which would bypass what the user configured).
 */
export function proxyFor(server: string, proxyUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = proxyUrl || fromEnvironment(server, env);
  if (!chosen) return undefined;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(chosen) ? chosen : `http://${chosen}`);
  } catch {
    throw new UserError(`proxy "${chosen}" is not a URL such as http://proxy.example.com:3128`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`proxy ${chosen}: only http:// and https:// proxies are supported (not ${url.protocol.slice(0, -1)}); use an HTTP CONNECT proxy`);
  }
  return url.toString();
}

function fromEnvironment(server: string, env: NodeJS.ProcessEnv): string | undefined {
  const proxy = env.HTTPS_PROXY || env.https_proxy;
  if (!proxy) return undefined;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return undefined;
  }
  const host = hostOf(url);
  if (isLoopback(host)) return undefined;
  const port = url.port || '443';
  const noProxy = (env.NO_PROXY || env.no_proxy || '').split(',').map((e) => e.trim()).filter(Boolean);
  return noProxy.some((e) => exempts(e, host, port)) ? undefined : proxy;
}
