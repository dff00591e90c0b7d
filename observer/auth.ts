import type { AuditEvent, InboundContext } from './types.ts';
import type { Connection } from './connection.ts';
import { headerOf, str } from './connection.ts';
import { isoNow } from './event-time.ts';
import { audienceMatches, bearerToken, describeToken } from './identity.ts';
import type { PresentedToken } from './identity.ts';
import type { Telemetry } from './telemetry.ts';

/** Distinct tokens remembered per connection (one `auth` event each). */
const MAX_SEEN_TOKENS = 256;

/** Characters of a verifier's reason kept in a `rejected` auth event. */
const MAX_REJECTION_REASON = 1024;

type AuthAuditEvent = Extract<AuditEvent, { kind: 'auth' }>;

/**
 * The `auth` event of a token the attachment's verifier rejected, before any connection saw the request: the
 * token's claims (unverified, so no principal) and the verifier's reason, scrubbed and bounded.
 */
export function rejectedTokenEvent(
  telemetry: Telemetry,
  token: string,
  error: unknown,
  transport?: AuthAuditEvent['transport'],
): AuthAuditEvent & { token: NonNullable<AuthAuditEvent['token']> } {
  const { claims } = describeToken(token, undefined, telemetry.keyring, telemetry.config.MCPWATCH_REAL_IDS);
  const reason = error instanceof Error ? error.message : String(error);
  return {
    kind: 'auth',
    time: isoNow(),
    ...(transport === undefined ? {} : { transport }),
    outcome: 'rejected',
    token: claims,
    reason: telemetry.secrets.scrub(reason).slice(0, MAX_REJECTION_REASON),
  };
}

/**
 * Who is calling: the token a request presents (verified by the attachment's verifier, or read unverified from
 * `Authorization`), fingerprinted, with one `auth` event the first time a connection sees it. The raw token only
 * joins the process's known secrets, so that the export filter can scrub it wherever it shows up.
 */
export class AuthTracker {
  readonly #seen = new Set<string>();

  constructor(private readonly connection: Connection) {}

  authenticate(inbound: InboundContext): PresentedToken | undefined {
    const { telemetry } = this.connection;
    const cookie = headerOf(inbound.headers, 'cookie');
    if (cookie !== undefined) telemetry.secrets.rememberCookies(cookie);
    const verified = str(inbound.authInfo?.token);
    const token = verified ?? bearerToken(inbound.headers?.['authorization']);
    if (token === undefined) return undefined;
    telemetry.secrets.remember(token);
    const presented = describeToken(token, inbound.authInfo, telemetry.keyring, telemetry.config.MCPWATCH_REAL_IDS);
    // An unverified token's subject is whatever the sender wrote: it names no principal.
    if (verified === undefined) delete presented.principal;
    if (this.#seen.has(presented.claims.fingerprint) || this.#seen.size >= MAX_SEEN_TOKENS) return presented;
    this.#seen.add(presented.claims.fingerprint);
    const audienceMatchesServer = audienceMatches(presented.claims, telemetry.config.MCPWATCH_RESOURCE);
    telemetry.emit(
      {
        ...this.connection.envelope(presented.principal, inbound),
        kind: 'auth',
        outcome: verified === undefined ? 'unverified-bearer' : 'accepted',
        token: presented.claims,
        ...(audienceMatchesServer === undefined ? {} : { audienceMatchesServer }),
      },
      this.connection.server,
    );
    return presented;
  }
}
