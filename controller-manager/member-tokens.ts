// Member tokens that expire, renewed before they do: after a probe finds a member Ready, its token
// (a TokenRequest join asked for) is renewed once its renewal point has passed, with the member's
// own TokenRequest API and the token itself (join's Role allows it for its own service account
// only), and the new one replaces it in the federation's Secret. The registry hands a renewed
// token to the clients as they are, so no watch restarts. A token from a join before expiring tokens
// never expires: renewing it moves the member to expiring ones when its role allows, else the log
// says to join again.
import { errorMessage } from '../shared/errors.ts';
import { objectPath } from '../shared/kube/resources.ts';
import { ApiError, type RestClient } from '../shared/kube/rest.ts';
import { MEMBER_SECRET_KEYS, requestToken, tokenClaims, tokenServiceAccount } from '../shared/member-credentials.ts';
import type { MemberRegistry } from './members.ts';

export interface TokenRenewalOptions {
  federation: RestClient;
  members: MemberRegistry;
  /** The federation namespace holding the members' Secrets. */
  namespace: string;
  /** The lifetime a renewed token asks for. */
  lifetimeSeconds: number;
  /** Renewed once this share of its life has passed (0.5: half-way). */
  renewAfter: number;
  log: (line: string) => void;
}

/** A failed renewal is tried again after this, not on every probe. */
const RETRY_MS = 60_000;

export class TokenRenewer {
  private readonly o: TokenRenewalOptions;
  /** When a member's renewal last failed, and whether its non-expiring token was reported. */
  private readonly failedAt = new Map<string, number>();
  private readonly toldNonExpiring = new Set<string>();
  /** Per member: the stored token (base64) last looked at, and when it is due. */
  private readonly due = new Map<string, { stored: string; token: string; at: number }>();

  constructor(o: TokenRenewalOptions) {
    this.o = o;
  }

  /**
   * When the token is due: once its share of life has passed, the life being its own or, when
   * shorter, the one configured (a lifetime made shorter replaces longer tokens soon); now for one
   * that never expires.
   */
  dueAt(token: string): number {
    const { exp, iat } = tokenClaims(token);
    if (!exp) return 0;
    const issued = iat ?? exp - this.o.lifetimeSeconds;
    return (issued + Math.min(exp - issued, this.o.lifetimeSeconds) * this.o.renewAfter) * 1000;
  }

  forget(name: string): void {
    this.failedAt.delete(name);
    this.toldNonExpiring.delete(name);
    this.due.delete(name);
  }

  /** Renews the member's token if it is due; client speaks to the member with it. Never throws. */
  async renewIfDue(name: string, client: RestClient): Promise<void> {
    const secret = this.o.members.secretOf(name);
    const stored = secret?.data?.[MEMBER_SECRET_KEYS.token];
    if (!secret || !stored) return; // a kubeconfig's own credentials: not ours to renew
    // Decoded once per token, not at every probe.
    let known = this.due.get(name);
    if (known?.stored !== stored) {
      const token = Buffer.from(stored, 'base64').toString().trim();
      known = { stored, token, at: tokenServiceAccount(token) ? this.dueAt(token) : Infinity };
      this.due.set(name, known);
    }
    if (Date.now() < known.at) return;
    const { token } = known;
    const account = tokenServiceAccount(token)!;
    if (Date.now() - (this.failedAt.get(name) ?? 0) < RETRY_MS) return;
    try {
      const fresh = await requestToken(client, account.namespace, account.name, this.o.lifetimeSeconds);
      await this.o.federation.request('PATCH', objectPath('v1', 'Secret', secret.metadata.name, this.o.namespace), {
        body: { data: { [MEMBER_SECRET_KEYS.token]: Buffer.from(fresh.token).toString('base64') } },
        contentType: 'application/merge-patch+json',
      });
      this.failedAt.delete(name);
      this.o.log(`cluster ${name}: its token renewed (the new one expires at ${fresh.expires})`);
    } catch (err) {
      this.failedAt.set(name, Date.now());
      const nonExpiring = !tokenClaims(token).exp;
      if (nonExpiring && err instanceof ApiError && err.status === 403) {
        if (!this.toldNonExpiring.has(name)) {
          this.toldNonExpiring.add(name);
          this.o.log(`cluster ${name}: it holds a non-expiring token from an earlier join, which its role does not let the federation renew; join it again (kubectl federation join ${name}) to move it to expiring tokens`);
        }
        return;
      }
      this.o.log(`cluster ${name}: renewing its token failed (${errorMessage(err)}); the present one is used until it is tried again in a minute`);
    }
  }
}
