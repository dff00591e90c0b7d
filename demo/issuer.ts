/**
 * A local OAuth issuer for the demo: signs access tokens (JWT, ES256) for demo users and verifies them for
 * the OAuth-protected sample server. The verifier is deliberately the common lax one: it checks signature,
 * issuer and expiry but not the audience, which is the misconfiguration `token-audience-mismatch` catches.
 */
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK } from 'jose';

export const DEMO_ISSUER = 'https://login.demo.mcpwatch.local';

export interface TokenRequest {
  subject: string;
  audience: string;
  clientId: string;
  scopes: string[];
  /** Lifetime in seconds; negative for a token that is already expired. */
  lifetimeSeconds?: number;
}

export interface DemoIssuer {
  publicJwk: JWK;
  mint(request: TokenRequest): Promise<string>;
}

export async function createDemoIssuer(): Promise<DemoIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    publicJwk: await exportJWK(publicKey),
    mint: async ({ subject, audience, clientId, scopes, lifetimeSeconds = 3600 }) =>
      new SignJWT({ scope: scopes.join(' '), azp: clientId, client_id: clientId })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
        .setIssuer(DEMO_ISSUER)
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
        .sign(privateKey),
  };
}

/** The SDK's `OAuthTokenVerifier` shape: token in, `AuthInfo` out, throw to reject. */
export async function createLaxVerifier(
  publicJwk: JWK,
): Promise<{ verifyAccessToken(token: string): Promise<AuthInfo> }> {
  const key = await importJWK(publicJwk, 'ES256');
  return {
    async verifyAccessToken(token) {
      const { payload } = await jwtVerify(token, key, { issuer: DEMO_ISSUER });
      const audience = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
      const clientId = [payload.azp, payload.client_id].find((value) => typeof value === 'string');
      return {
        token,
        clientId: clientId ?? 'unknown',
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        ...(payload.exp === undefined ? {} : { expiresAt: payload.exp }),
        ...(audience === undefined ? {} : { resource: new URL(audience) }),
        extra: { sub: payload.sub, iss: payload.iss, aud: payload.aud },
      };
    },
  };
}
