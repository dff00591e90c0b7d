import { z } from 'zod';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import type { Finding, Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Clock skew tolerated between the token issuer and the MCP server, in seconds. */
  clockSkewSeconds: z.number().int().min(0).max(3600).default(60),
  /** Token expiries remembered per server (most recent kept), to judge later calls with the same token. */
  maxTokens: z.number().int().min(1).max(100_000).default(2_000),
});
type Config = z.infer<typeof Config>;

interface State {
  /** Token fingerprint → [expiry ms, event id of the auth event that said so]. */
  expiries: Record<string, [number, string]>;
}

/** Where the expiry came from, strongest first. */
type ExpirySource = 'jwt-exp' | 'verifier' | 'call' | 'earlier-auth';

/**
 * A server that accepts a token past its expiry: a verifier that caches introspection results or trusts its
 * own `AuthInfo.expiresAt` over the JWT's `exp`, or one that does not check expiry at all. Judged from the auth
 * event's claims (the JWT's `exp` beside the verifier's), from a call's `tokenExpiresAt`, and from a call made
 * with a token whose expiry an earlier auth event reported.
 */
export const expiredTokenAccepted: Rule<State, Config> = {
  meta: {
    id: 'expired-token-accepted',
    version: 1,
    title: 'Expired token accepted',
    description:
      'An MCP server accepted a request whose access token had expired: the auth event was accepted although ' +
      'the JWT’s own `exp` (or the verifier’s expiry) lies before the event time, or a call succeeded with a ' +
      'token past the expiry recorded for it. A caching or introspecting verifier, or none, lets a stolen or ' +
      'revoked token be replayed long after its lifetime; the JWT’s `exp` is compared beside the verifier’s.',
    severity: 'high',
    maturity: 'experimental',
    owasp: ['MCP01', 'MCP07'],
    attack: ['T1550.001', 'T1078'],
    falsePositives: [
      'Clock skew between the issuer and the server beyond `clockSkewSeconds`.',
      'Servers that deliberately grant a grace period after expiry (raise `clockSkewSeconds` to cover it).',
    ],
    references: [
      REFERENCES.accessTokenUsage,
      REFERENCES.tokenAudience,
      'https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4',
    ],
  },
  scope: 'server',
  configSchema: Config,
  keyOf: (event) => {
    if (event.kind === 'auth' && event.outcome === 'accepted' && event.token !== undefined) return event.server.name;
    if (event.kind === 'call' && event.outcome !== 'error' && event.tokenFingerprint !== undefined)
      return event.server.name;
    return undefined;
  },
  initialState: () => ({ expiries: {} }),
  onEvent(state, event, { config, eventTime }) {
    const skew = config.clockSkewSeconds * 1000;
    if (event.kind === 'auth' && event.outcome === 'accepted' && event.token !== undefined) {
      const { token } = event;
      const jwt = parseTime(token.jwtExpiresAt);
      const verifier = parseTime(token.expiresAt);
      const candidates: [number, ExpirySource][] = [];
      if (jwt !== undefined) candidates.push([jwt, 'jwt-exp']);
      if (verifier !== undefined) candidates.push([verifier, 'verifier']);
      const earliest = candidates.sort((a, b) => a[0] - b[0])[0];
      if (earliest === undefined) return { state };
      remember(state, token.fingerprint, earliest[0], event.eventId, config);
      if (eventTime <= earliest[0] + skew) return { state };
      return {
        state,
        findings: [
          finding(event, token.fingerprint, earliest[0], earliest[1], eventTime, [event.eventId], { jwt, verifier }),
        ],
      };
    }
    if (event.kind !== 'call' || event.tokenFingerprint === undefined) return { state };
    const fingerprint = event.tokenFingerprint;
    const own = parseTime(event.tokenExpiresAt);
    const known = state.expiries[fingerprint];
    const [expiry, source, eventIds]: [number | undefined, ExpirySource, string[]] =
      own !== undefined
        ? [own, 'call', [event.eventId]]
        : known !== undefined
          ? [known[0], 'earlier-auth', [known[1], event.eventId]]
          : [undefined, 'call', []];
    if (expiry === undefined || eventTime <= expiry + skew) return { state };
    return {
      state,
      findings: [finding(event, fingerprint, expiry, source, eventTime, eventIds, {})],
    };
  },
};

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Updated in place: the engine hands the rule the only reference to its state. */
function remember(state: State, fingerprint: string, expiry: number, eventId: string, config: Config): void {
  delete state.expiries[fingerprint];
  state.expiries[fingerprint] = [expiry, eventId];
  const keys = Object.keys(state.expiries);
  for (const stale of keys.slice(0, Math.max(0, keys.length - config.maxTokens))) delete state.expiries[stale];
}

function finding(
  event: McpEvent,
  fingerprint: string,
  expiry: number,
  source: ExpirySource,
  eventTime: number,
  eventIds: string[],
  both: { jwt?: number | undefined; verifier?: number | undefined },
): Finding {
  const seconds = Math.round((eventTime - expiry) / 1000);
  return {
    // One alert per token and server: every later use of the same expired token folds into it.
    subject: `${event.server.name}\u0000${fingerprint}`,
    title: 'Expired token accepted',
    description: `Server ${event.server.name} accepted a token ${seconds} s after it expired (${source}).`,
    entities: entitiesOf(event),
    evidence: {
      tokenFingerprint: fingerprint.slice(0, 28),
      expiredAt: new Date(expiry).toISOString(),
      secondsPastExpiry: seconds,
      expirySource: source,
      ...(both.jwt === undefined ? {} : { jwtExpiresAt: new Date(both.jwt).toISOString() }),
      ...(both.verifier === undefined ? {} : { verifierExpiresAt: new Date(both.verifier).toISOString() }),
      ...(event.kind === 'call' ? { tool: event.tool ?? event.method } : {}),
    },
    eventIds,
  };
}
