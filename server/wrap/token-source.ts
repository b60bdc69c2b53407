/**
 * IAM access tokens for Key Protect, whatever issues them: cached, refreshed in the background once
 * 80% of the lifetime has passed, refreshed in line when expired or when Key Protect answers 401,
 * with one fetch in flight at a time that every waiting caller shares. Subclasses only say how one
 * token is fetched (an API key at IAM, a trusted profile at the VPC instance metadata service).
 * A token never appears in an error message.
 */
import { unlessAbandoned } from './http.js';

/** What the Key Protect client needs from a credential: a bearer token, and a way to drop a refused one. */
export interface TokenSource {
  /** A valid IAM access token; the caller's signal abandons the wait, never the fetch others share. */
  token(signal?: AbortSignal): Promise<string>;
  /** Forgets a token Key Protect refused, so the next call fetches a new one. */
  invalidate(token: string): void;
}

/** One fetched IAM access token and, when the issuer says so, its lifetime in seconds. */
export interface FetchedToken {
  readonly accessToken: string;
  readonly expiresInSeconds?: number | undefined;
}

interface Cached {
  readonly token: string;
  /** Epoch ms after which a background refresh starts. */
  readonly refreshAt: number;
  /** Epoch ms after which the token is not used any more. */
  readonly expiresAt: number;
}

/** IAM tokens are JWTs: `iat` and `exp` say when they were issued and when they lapse (seconds). */
export function jwtClaims(token: string): { iat?: number; exp?: number } {
  try {
    const payload = token.split('.')[1];
    return payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat?: number; exp?: number }) : {};
  } catch {
    return {};
  }
}

/** Used when neither the token nor the answer says how long it lives (IAM's documented hour). */
const DEFAULT_LIFETIME_SECONDS = 3600;
/** A token this close to its expiry is not handed out any more (IBM's SDKs use the same window). */
const EXPIRY_WINDOW_MS = 10_000;
const REFRESH_AT = 0.8;

export abstract class CachedTokenSource implements TokenSource {
  private cached: Cached | undefined;
  private inFlight: Promise<Cached> | undefined;
  protected readonly now: () => number;

  constructor(now?: () => number) {
    this.now = now ?? Date.now;
  }

  /** Fetches one token, bounded by the implementation's timeouts and retries, whoever waits for it. */
  protected abstract fetchToken(): Promise<FetchedToken>;

  async token(signal?: AbortSignal): Promise<string> {
    const now = this.now();
    const c = this.cached;
    if (c && now < c.expiresAt) {
      if (now >= c.refreshAt) void this.refresh().catch(() => undefined);
      return c.token;
    }
    // The fetch is shared by every caller waiting for a token: one caller giving up must not fail the others.
    return (await unlessAbandoned(this.refresh(), signal)).token;
  }

  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private refresh(): Promise<Cached> {
    this.inFlight ??= this.fetchToken()
      .then((fetched) => this.accept(fetched))
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private accept(fetched: FetchedToken): Cached {
    const now = this.now();
    const { iat, exp } = jwtClaims(fetched.accessToken);
    const issued = typeof iat === 'number' ? iat * 1000 : now;
    const lifetimeSeconds = typeof fetched.expiresInSeconds === 'number' && fetched.expiresInSeconds > 0 ? fetched.expiresInSeconds : DEFAULT_LIFETIME_SECONDS;
    const expires = typeof exp === 'number' ? exp * 1000 : now + lifetimeSeconds * 1000;
    const lifetime = Math.max(0, expires - issued);
    const cached: Cached = { token: fetched.accessToken, refreshAt: issued + lifetime * REFRESH_AT, expiresAt: expires - EXPIRY_WINDOW_MS };
    this.cached = cached;
    return cached;
  }
}
