import { createHmac, randomBytes } from 'node:crypto';
import { diag } from '@opentelemetry/api';
import type { Principal, TokenClaims } from '../contracts/mcp-event.ts';

/** Keyed fingerprints of secrets and subjects; the key never leaves the process. */
export class Keyring {
  readonly #key: Buffer;
  readonly shared: boolean;

  constructor(key: string | undefined) {
    this.shared = key !== undefined;
    if (key === undefined) {
      diag.warn(
        'mcpwatch: MCPWATCH_HMAC_KEY is not set; token fingerprints use a random per-process key and cannot be correlated across processes.',
      );
    }
    this.#key = key === undefined ? randomBytes(32) : Buffer.from(key, 'utf8');
  }

  fingerprint(secret: string): string {
    return `hmac-sha256:${createHmac('sha256', this.#key).update(secret, 'utf8').digest('hex')}`;
  }
}

/** The SDK's `AuthInfo` as far as we read it; older SDKs lack some fields. */
export interface AuthInfoLike {
  token?: unknown;
  clientId?: unknown;
  scopes?: unknown;
  expiresAt?: unknown;
  resource?: unknown;
  extra?: unknown;
}

/** Tokens longer than this are not parsed as JWTs (they are still fingerprinted). */
const MAX_JWT_CHARS = 16_384;

function jwtPayload(token: string): Record<string, unknown> | undefined {
  if (token.length > MAX_JWT_CHARS) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const str = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, max) : undefined;

function strings(value: unknown, maxItems: number, max: number): string[] {
  if (typeof value === 'string')
    return value
      .split(' ')
      .filter(Boolean)
      .slice(0, maxItems)
      .map((s) => s.slice(0, max));
  if (Array.isArray(value))
    return value
      .filter((s): s is string => typeof s === 'string')
      .slice(0, maxItems)
      .map((s) => s.slice(0, max));
  return [];
}

function isoFromEpochSeconds(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const date = new Date(value * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export interface PresentedToken {
  claims: TokenClaims;
  principal?: Principal;
  /** The earliest of the verifier's and the JWT's expiry, for every call that presents the token. */
  expiresAt?: string;
}

/**
 * What a detector may know about a token: the claims the verifier vouched for (`AuthInfo`), completed from the
 * JWT payload when the token is a JWT (not re-verified: the verifier already accepted it, or this describes a
 * rejection). The raw token is only fingerprinted.
 */
export function describeToken(
  token: string,
  authInfo: AuthInfoLike | undefined,
  keyring: Keyring,
  realIds: boolean,
): PresentedToken {
  const jwt = jwtPayload(token) ?? {};
  const extra =
    typeof authInfo?.extra === 'object' && authInfo.extra !== null ? (authInfo.extra as Record<string, unknown>) : {};
  const issuer = str(jwt['iss'], 2048) ?? str(extra['iss'], 2048);
  const subject = str(jwt['sub'], 2048) ?? str(extra['sub'], 2048);
  const scopes =
    authInfo?.scopes === undefined ? strings(jwt['scope'] ?? jwt['scp'], 256, 256) : strings(authInfo.scopes, 256, 256);
  const resource = str(authInfo?.resource instanceof URL ? authInfo.resource.href : authInfo?.resource, 2048);
  const claims: TokenClaims = {
    fingerprint: keyring.fingerprint(token),
    audience: strings(jwt['aud'], 64, 2048),
    scopes,
  };
  if (issuer !== undefined) claims.issuer = issuer;
  const authorizedParty = str(authInfo?.clientId, 512) ?? str(jwt['azp'], 512) ?? str(jwt['client_id'], 512);
  if (authorizedParty !== undefined) claims.authorizedParty = authorizedParty;
  if (resource !== undefined) claims.resource = resource;
  // Both expiries: a caching or introspecting verifier may vouch for a token whose own `exp` has passed.
  const jwtExpiresAt = isoFromEpochSeconds(jwt['exp']);
  const expiresAt = isoFromEpochSeconds(authInfo?.expiresAt) ?? jwtExpiresAt;
  if (expiresAt !== undefined) claims.expiresAt = expiresAt;
  if (jwtExpiresAt !== undefined) claims.jwtExpiresAt = jwtExpiresAt;
  const issuedAt = isoFromEpochSeconds(jwt['iat']);
  if (issuedAt !== undefined) claims.issuedAt = issuedAt;
  const presented: PresentedToken = { claims };
  const earliest = [claims.expiresAt, jwtExpiresAt].filter((at) => at !== undefined).sort()[0];
  if (earliest !== undefined) presented.expiresAt = earliest;
  if (subject !== undefined) {
    presented.principal = realIds
      ? { id: subject, pseudonymous: false, ...(issuer === undefined ? {} : { issuer }) }
      : {
          id: keyring.fingerprint(`${issuer ?? ''}\n${subject}`),
          pseudonymous: true,
          ...(issuer === undefined ? {} : { issuer }),
        };
  }
  return presented;
}

const withoutTrailingSlash = (value: string): string => (value.endsWith('/') ? value.slice(0, -1) : value);

/** RFC 8707 / RFC 9068: the token was minted for this server. Undefined when no resource is configured. */
export function audienceMatches(claims: TokenClaims, serverResource: string | undefined): boolean | undefined {
  if (serverResource === undefined) return undefined;
  const expected = withoutTrailingSlash(serverResource);
  const candidates = claims.resource === undefined ? claims.audience : [...claims.audience, claims.resource];
  return candidates.some((candidate) => withoutTrailingSlash(candidate) === expected);
}

/** `Bearer <token>` from an Authorization header value, else undefined. */
export function bearerToken(header: unknown): string | undefined {
  const value: unknown = Array.isArray(header) ? (header as unknown[])[0] : header;
  if (typeof value !== 'string') return undefined;
  const match = /^bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}
