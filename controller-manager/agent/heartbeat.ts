// The agent's two periodic duties, on the same sync engine as everything else: the heartbeat (its
// Lease in the member's federation namespace, renewed every period with what the member's own API
// server answered: the controller manager turns it into the Cluster's Ready and Offline), and its
// own credentials for the federation, renewed before they expire and kept in its kubeconfig Secret
// so a restarted agent starts with the new token.
import { isNotFound, type RestClient } from '../../shared/kube/rest.ts';
import { microTime } from '../../shared/kube/time.ts';
import { AGENT_KUBECONFIG_KEY } from '../../shared/manifests/pull.ts';
import { requestToken, tokenClaims } from '../../shared/member-credentials.ts';
import { AGENT_ACCOUNT, AGENT_CODE_ANNOTATION, AGENT_LEASE, AGENT_MESSAGE_ANNOTATION, AGENT_READY_ANNOTATION, AGENT_VERSION_ANNOTATION, pullNamespace } from '../../shared/pull/names.ts';
import { VERSION } from '../../shared/version-info.ts';
import { runningCodeDigest } from '../code-digest.ts';
import { probeMember } from '../probe.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';

export interface HeartbeatOptions {
  federation: RestClient;
  member: RestClient;
  cluster: string;
  periodMs: number;
  /** The member namespace and Secret holding the agent's kubeconfig (its token is replaced there). */
  secret: { namespace: string; name: string };
  tokenLifetimeSeconds: number;
  /** The share of the token's life after which it is renewed. */
  renewAfter: number;
  log: (line: string) => void;
}

export const HEARTBEAT_KEY = 'heartbeat';
export const TOKEN_KEY = 'token';

export class Heartbeat implements Reconciler {
  readonly name = 'heartbeat';
  private readonly o: HeartbeatOptions;
  /** When the Lease was last renewed: the agent's /healthz reads it. */
  lastBeat = 0;
  renewals = 0;

  constructor(o: HeartbeatOptions) {
    this.o = o;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    if (key === TOKEN_KEY) return this.renewToken();
    const seen = await probeMember(this.o.member, Math.min(this.o.periodMs, 5000));
    const annotations = {
      [AGENT_READY_ANNOTATION]: String(seen.kind === 'ready'),
      [AGENT_MESSAGE_ANNOTATION]: seen.kind === 'ready' ? '' : seen.message.slice(0, 300),
      [AGENT_VERSION_ANNOTATION]: VERSION,
      [AGENT_CODE_ANNOTATION]: runningCodeDigest(),
    };
    const path = `/apis/coordination.k8s.io/v1/namespaces/${pullNamespace(this.o.cluster)}/leases`;
    const spec = { holderIdentity: this.o.cluster, leaseDurationSeconds: Math.ceil((2.5 * this.o.periodMs) / 1000), renewTime: microTime() };
    try {
      await this.o.federation.request('PATCH', `${path}/${AGENT_LEASE}`, { body: { metadata: { annotations }, spec }, contentType: 'application/merge-patch+json' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.o.federation.request('POST', path, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: AGENT_LEASE, annotations }, spec } });
    }
    if (this.lastBeat === 0) this.o.log(`cluster ${this.o.cluster}: first heartbeat sent (member ${seen.kind === 'ready' ? 'ready' : `not ready: ${'message' in seen ? seen.message : ''}`})`);
    this.lastBeat = Date.now();
    return { requeueAfterMs: this.o.periodMs };
  }

  /** A fresh token once renewAfter of the present one's life has passed; looked at again then. */
  private async renewToken(): Promise<ReconcileResult> {
    const { exp, iat } = tokenClaims(this.o.federation.bearerToken() ?? '');
    const now = Date.now() / 1000;
    if (exp && iat) {
      const due = iat + (exp - iat) * this.o.renewAfter;
      if (now < due) return { requeueAfterMs: Math.max(1000, (due - now) * 1000) };
    }
    const { token } = await requestToken(this.o.federation, pullNamespace(this.o.cluster), AGENT_ACCOUNT, this.o.tokenLifetimeSeconds);
    // The Secret first: a restart in between starts with a token that works.
    const path = `/api/v1/namespaces/${encodeURIComponent(this.o.secret.namespace)}/secrets/${encodeURIComponent(this.o.secret.name)}`;
    const secret = await this.o.member.get<{ data?: Record<string, string> }>(path);
    const kubeconfig = Buffer.from(secret.data?.[AGENT_KUBECONFIG_KEY] ?? '', 'base64').toString();
    const old = this.o.federation.bearerToken() ?? '';
    if (!old || !kubeconfig.includes(old)) throw new Error(`the kubeconfig in Secret ${this.o.secret.namespace}/${this.o.secret.name} does not hold the token in use: not replaced`);
    await this.o.member.request('PATCH', path, {
      body: { data: { [AGENT_KUBECONFIG_KEY]: Buffer.from(kubeconfig.replace(old, token)).toString('base64') } },
      contentType: 'application/merge-patch+json',
    });
    this.o.federation.useToken(token);
    this.renewals += 1;
    const claims = tokenClaims(token);
    this.o.log(`cluster ${this.o.cluster}: the agent's federation token was renewed (valid until ${claims.exp ? new Date(claims.exp * 1000).toISOString() : 'unknown'})`);
    const next = claims.exp && claims.iat ? (claims.iat + (claims.exp - claims.iat) * this.o.renewAfter - Date.now() / 1000) * 1000 : 60_000;
    // Never sooner than 30 s: an API server that issues shorter tokens than asked must not make
    // this a tight loop of requests (its minimum, 10 minutes, leaves plenty of room).
    return { requeueAfterMs: Math.max(30_000, next) };
  }
}

