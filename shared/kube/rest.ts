// A small Kubernetes REST client over node:https. Why not client-node's generated clients: they
// build a new connection pool for every request, cannot bound a request's total time, and load
// megabytes of generated code; the controller manager keeps a client per member cluster and the
// CLI must start fast. client-node supplies the object types only (a devDependency: nothing of it
// is bundled); exec-plugin credentials are our own (plugin-credentials.ts).
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Credentials } from './credentials.ts';

export interface Status {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { message?: string; field?: string }[] };
}

/** The API server answered with an error status. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly body: Status;
  /** The server's Retry-After, when it sent one. */
  retryAfterMs?: number;
  constructor(status: number, method: string, path: string, body: Status) {
    super(body.message ?? `${method} ${path}: HTTP ${status}`);
    this.status = status;
    this.method = method;
    this.path = path;
    this.body = body;
  }
  get reason(): string {
    return this.body.reason ?? '';
  }
}

/** The server could not be reached, or did not answer in time. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  readonly server: string;
  readonly reason: string;
  /** The system's error code (ECONNRESET...), or TIMEOUT when no answer came in time. */
  readonly code: string;
  constructor(server: string, reason: string, code = '') {
    super(`cannot reach ${server}: ${reason}`);
    this.server = server;
    this.reason = reason;
    this.code = code;
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  /** The Accept header (default application/json): aggregated discovery asks for its own type. */
  accept?: string;
  /**
   * Whether a failure may be retried (default: yes for every method but POST, whose requests here
   * create things; server-side apply, GET, PUT and DELETE are idempotent). Health probes say no:
   * an unhealthy answer is their answer.
   */
  retry?: boolean;
}

/** Status codes worth another try: overload (429, with Retry-After) and the server's own trouble. */
const RETRIABLE_STATUS = new Set([429, 500, 502, 503, 504]);
/** A connection that broke mid-request (a refused one fails at once: nothing listens there). */
const RETRIABLE_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const MAX_ATTEMPTS = 6;

/** Retry-After in milliseconds (seconds, or an HTTP date), capped; undefined without one. */
function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 10_000) : undefined;
}

/** How often a token file is read again (client-go's CachedFileTokenSource does it every minute). */
const TOKEN_REREAD_MS = 60_000;

const connectionCauses: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by the CA in the kubeconfig',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate is not signed by the CA in the kubeconfig',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this address',
  CERT_HAS_EXPIRED: 'its certificate has expired',
};

/** The texts of `Warning: 299 - "text"` headers (RFC 7234 form, as the API server writes them). */
export function parseWarnings(header: string | string[]): string[] {
  const all = Array.isArray(header) ? header.join(', ') : header;
  return [...all.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

/**
 * One TLS context per credentials object: a member's probe client and its watch-and-write client
 * are made from the same one and share it (an OpenSSL context costs about 19 KB; thousands of
 * members). Reused only while the object still holds the very CA, certificate and key it was made
 * from (an exec plugin fills them in). Weak: a context goes with the last client that uses it.
 */
const secureContexts = new WeakMap<Credentials, { from: [Buffer | undefined, Buffer | undefined, Buffer | undefined]; context: SecureContext }>();

function secureContextFor(creds: Credentials): SecureContext {
  const made = secureContexts.get(creds);
  if (made && made.from[0] === creds.ca && made.from[1] === creds.cert && made.from[2] === creds.key) return made.context;
  const context = createSecureContext({ ca: creds.ca, cert: creds.cert, key: creds.key });
  secureContexts.set(creds, { from: [creds.ca, creds.cert, creds.key], context });
  return context;
}

export class RestClient {
  /** Requests sent so far: the benchmarks count them. */
  requests = 0;
  /** Of those, how many were retries (429, 5xx, resets). */
  retries = 0;
  readonly server: string;
  private readonly base: URL;
  private readonly agent: Agent;
  /**
   * Watches hold their connection for minutes: they get sockets of their own, never the requests'.
   * Made on the first watch: most clients (a probe per member) never watch, and an Agent is a few KB.
   */
  private streamAgentMade: Agent | undefined;
  private readonly agentOptions: ConstructorParameters<typeof Agent>[0];
  private token: string | undefined;
  private readonly tokenFile: string | undefined;
  private tokenReadAt = Date.now();

  private readonly defaultTimeoutMs: number;
  private readonly userAgent: string;
  private readonly impersonation: Record<string, string | string[]> = {};
  /** The last answer's Date header, parsed only when asked (most clients never ask). */
  private lastDate: string | undefined;

  /** The server's clock at its last answer (its Date header, ms; 0 before any): to tell a write made now from an older one. */
  get serverTime(): number {
    return this.lastDate ? Date.parse(this.lastDate) || 0 : 0;
  }

  /** The bearer token requests send now (from its file if it has one): what a renewer reads and replaces. */
  bearerToken(): string | undefined {
    return this.bearer();
  }

  /** A renewed bearer token: the next request sends it, on the connections already open. */
  useToken(token: string): void {
    this.token = token;
  }

  /** Hears each `Warning:` header the server sends (deprecations, Pod Security "would violate"...). */
  onWarning?: (text: string) => void;

  /**
   * keepAlive: false suits a client that sends one request now and then (a probe every 10 s): no
   * idle TLS connection is held between requests, and TLS session resumption keeps reconnecting
   * cheap. A thousand idle connections cost far more memory than a thousand resumed handshakes
   * cost CPU.
   */
  constructor(creds: Credentials, defaultTimeoutMs = 30_000, userAgent = 'kubectl-federation', keepAlive = true) {
    this.defaultTimeoutMs = defaultTimeoutMs;
    this.userAgent = userAgent;
    // kubectl takes "host:port" as https://host:port; so do we.
    this.server = /^[a-z][a-z0-9+.-]*:\/\//i.test(creds.server) ? creds.server : `https://${creds.server}`;
    this.base = new URL(this.server);
    this.token = creds.token;
    this.tokenFile = creds.tokenFile;
    const tls = {
      // One TLS context for all of this client's connections: without it Node parses the CA and
      // keys again for every new connection.
      secureContext: secureContextFor(creds),
      rejectUnauthorized: !creds.insecureSkipTLSVerify,
      servername: creds.tlsServerName,
    };
    // Node's Agent tunnels through an HTTP(S) proxy itself (CONNECT); proxy.ts chose whether to.
    const proxy = creds.proxy ? { proxyEnv: { HTTPS_PROXY: creds.proxy } } : {};
    this.agent = new Agent({ keepAlive, maxSockets: 16, ...tls, ...proxy });
    this.agentOptions = { keepAlive: false, ...tls, ...proxy };
    const as = creds.impersonate;
    if (as?.user) this.impersonation['Impersonate-User'] = as.user;
    if (as?.groups?.length) this.impersonation['Impersonate-Group'] = as.groups;
    if (as?.uid) this.impersonation['Impersonate-Uid'] = as.uid;
  }

  close(): void {
    this.agent.destroy();
    this.streamAgentMade?.destroy();
  }

  /** The bearer token, read again from its file once a minute (client-go's interval). */
  private bearer(): string | undefined {
    if (this.tokenFile && Date.now() - this.tokenReadAt >= TOKEN_REREAD_MS) {
      this.tokenReadAt = Date.now();
      try {
        this.token = readFileSync(this.tokenFile, 'utf8').trim() || this.token;
      } catch {
        // Keep the token we have: a file being replaced may be missing for a moment.
      }
    }
    return this.token;
  }

  /**
   * One API request, retried as client-go would where that is safe: 429 (after its Retry-After),
   * 5xx and connection resets, for idempotent requests, with a growing pause, all within the
   * request's timeout (--request-timeout). The last failure is what the caller sees.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    const retry = options.retry ?? method !== 'POST';
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, options, timeoutMs > 0 ? Math.max(1, deadline - Date.now()) : 0);
      } catch (err) {
        const status = err instanceof ApiError ? err.status : undefined;
        // A 429 was not processed at all: safe to send again whatever the method.
        const retriable =
          status === 429 ||
          (retry && status !== undefined && RETRIABLE_STATUS.has(status)) ||
          (retry && err instanceof ConnectionError && RETRIABLE_CONNECTION.has(err.code));
        if (!retriable || attempt >= MAX_ATTEMPTS) throw err;
        const pause = (err instanceof ApiError ? err.retryAfterMs : undefined) ?? Math.min(100 * 2 ** (attempt - 1), 2000);
        if (Date.now() + pause >= deadline) throw err;
        this.retries += 1;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private async once<T>(method: string, path: string, options: RequestOptions, timeoutMs: number): Promise<T> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | string[]> = { Accept: options.accept ?? 'application/json', 'User-Agent': this.userAgent, ...this.impersonation };
    if (payload) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const token = this.bearer();
    if (token) headers.Authorization = `Bearer ${token}`;
    this.requests += 1;

    const { status, text, json, retryAfter } = await new Promise<{ status: number; text: string; json: boolean; retryAfter?: string }>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method, headers, agent: this.agent, signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined },
        (res) => {
          if (this.onWarning && res.headers.warning) for (const w of parseWarnings(res.headers.warning)) this.onWarning(w);
          if (res.headers.date) this.lastDate = res.headers.date;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString(),
              json: (res.headers['content-type'] ?? '').includes('json'),
              retryAfter: res.headers['retry-after'],
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        const cause =
          err.name === 'AbortError' || err.name === 'TimeoutError'
            ? `no answer within ${timeoutMs / 1000}s`
            : (connectionCauses[code] ?? err.message);
        reject(new ConnectionError(this.server, cause, err.name === 'AbortError' || err.name === 'TimeoutError' ? 'TIMEOUT' : code));
      });
      req.end(payload);
    });
    if (status >= 200 && status < 300) {
      // Health endpoints answer plain text; everything else JSON.
      return (text === '' ? undefined : json ? JSON.parse(text) : text) as T;
    }
    let body: Status = { message: text.trim() || `HTTP ${status}` };
    if (json) {
      try {
        body = JSON.parse(text) as Status;
      } catch {
        // keep the text
      }
    }
    const error = new ApiError(status, method, url.pathname, body);
    error.retryAfterMs = retryAfterMs(retryAfter);
    throw error;
  }

  /** A GET whose answer is a stream of JSON lines (a watch), each handed to onLine as it arrives. */
  stream(
    path: string,
    query: Record<string, string | number | boolean>,
    onLine: (line: string) => void,
    signal: AbortSignal,
    accept = 'application/json',
  ): Promise<void> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    const headers: Record<string, string | string[]> = { Accept: accept, 'User-Agent': this.userAgent, ...this.impersonation };
    const token = this.bearer();
    if (token) headers.Authorization = `Bearer ${token}`;
    this.requests += 1;
    return new Promise<void>((resolve, reject) => {
      this.streamAgentMade ??= new Agent(this.agentOptions);
      const req = httpsRequest(url, { method: 'GET', headers, agent: this.streamAgentMade, signal }, (res) => {
        clearTimeout(unanswered);
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let body: Status = { message: `HTTP ${res.statusCode}` };
            try {
              body = JSON.parse(Buffer.concat(chunks).toString()) as Status;
            } catch {
              // keep the status line
            }
            reject(new ApiError(res.statusCode ?? 0, 'GET', url.pathname, body));
          });
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline = buffered.indexOf('\n');
          while (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line !== '') {
              try {
                onLine(line);
              } catch (err) {
                req.destroy(err as Error);
                return;
              }
            }
            newline = buffered.indexOf('\n');
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      // An API server answers a watch's headers at once: one that does not within the request timeout
      // (a proxy's black hole) is a failed request, not a watch that sees nothing for minutes.
      const unanswered = this.defaultTimeoutMs > 0 ? setTimeout(() => req.destroy(new ConnectionError(this.server, `no answer within ${this.defaultTimeoutMs / 1000}s`)), this.defaultTimeoutMs) : undefined;
      // A silent connection (a server gone without a word) must not hang the watch forever.
      req.setTimeout(5 * 60_000, () => req.destroy(new ConnectionError(this.server, 'the watch went silent')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(unanswered);
        if (signal.aborted) return resolve();
        reject(err instanceof ConnectionError ? err : new ConnectionError(this.server, connectionCauses[err.code ?? ''] ?? err.message));
      });
      req.end();
    });
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  /** GET that answers undefined for 404 instead of throwing. */
  async find<T>(path: string, options?: RequestOptions): Promise<T | undefined> {
    try {
      return await this.get<T>(path, options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** GET of a plain-text endpoint such as /readyz: its status and body, never throwing on status. */
  async probe(path: string, timeoutMs?: number): Promise<{ status: number; body: string }> {
    try {
      const body = await this.request<unknown>('GET', path, { timeoutMs, retry: false });
      return { status: 200, body: String(body) };
    } catch (err) {
      if (err instanceof ApiError) return { status: err.status, body: err.message };
      throw err;
    }
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Streams a watch: calls onEvent for each event until the server ends the stream (it does after
 * timeoutSeconds), the signal aborts, or the connection fails (rejects). The caller re-lists and
 * watches again: that loop, with its backoff, lives in controller-manager/watch.ts.
 */
export function watchStream<T>(
  client: RestClient,
  path: string,
  query: Record<string, string | number | boolean>,
  onEvent: (event: WatchEvent<T>) => void,
  signal: AbortSignal,
  accept?: string,
): Promise<void> {
  return client.stream(path, { ...query, watch: true }, (line) => onEvent(JSON.parse(line) as WatchEvent<T>), signal, accept);
}
