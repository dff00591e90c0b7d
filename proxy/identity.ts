import { hostname, userInfo } from 'node:os';
import { basename, extname } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Principal } from '../contracts/mcp-event.ts';
import { McpwatchError } from '../contracts/errors.ts';
import type { AuthInfoLike, Keyring } from '../observer/identity.ts';

/** Commands that run the server named by a later argument (`npx -y pkg`, `python -m mod`, `java -jar x.jar`). */
const LAUNCHERS = new Set([
  'node',
  'nodejs',
  'npx',
  'npm',
  'pnpm',
  'pnpx',
  'yarn',
  'bun',
  'bunx',
  'deno',
  'tsx',
  'uv',
  'uvx',
  'pipx',
  'python',
  'python3',
  'java',
  'go',
  'docker',
  'podman',
  'dotnet',
  'ruby',
  'exec',
  'run',
  'start',
]);
/** Launcher options whose value is the next argument (`java -cp x`, `docker run --name n`). */
const TAKES_VALUE = new Set([
  '-cp',
  '-classpath',
  '--class-path',
  '-p',
  '--package',
  '--from',
  '--name',
  '-e',
  '--env',
]);

/** `--name`, else the first argument after the launchers and their options (`@scope/server-x`, `server.py` → `server`). */
export function serverNameFromCommand(command: string, args: readonly string[]): string {
  const words = [command, ...args];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word.startsWith('-')) {
      if (TAKES_VALUE.has(word)) i++;
      continue;
    }
    const base = basename(word);
    if (LAUNCHERS.has(base.replace(/\.exe$/i, '').replace(/[\d.]+$/, ''))) continue;
    const name = word.startsWith('@') ? word.replace(/@[^@/]*$/, '') : basename(word, extname(word));
    if (name !== '') return name.slice(0, 256);
  }
  return basename(command).slice(0, 256) || 'unknown';
}

/** `host[:port]/path` of an upstream URL, without credentials or query. */
export function serverNameFromUrl(url: URL): string {
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.host}${path}`.slice(0, 256);
}

/** Issuer string that marks a principal as the local OS account that started the proxy, not a token subject. */
export const LOCAL_OS_ISSUER = 'mcpwatch:local-os';

/**
 * On stdio the agent host and the server run as the OS user who started the proxy: that account is the
 * principal. Marked by the issuer `mcpwatch:local-os` (the subject is `user@host`), pseudonymous unless real
 * ids are configured, keyed like token subjects.
 */
export function localPrincipal(keyring: Keyring, realIds: boolean): Principal {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env['USER'] ?? process.env['USERNAME'] ?? `uid-${String(process.getuid?.() ?? 'unknown')}`;
  }
  const subject = `${user}@${hostname()}`.slice(0, 512);
  return realIds
    ? { id: subject, pseudonymous: false, issuer: LOCAL_OS_ISSUER }
    : { id: keyring.fingerprint(`${LOCAL_OS_ISSUER}\n${subject}`), pseudonymous: true, issuer: LOCAL_OS_ISSUER };
}

export interface JwtVerification {
  /** Expected `iss`. */
  issuer: string;
  /** Keys from this URL (cached and refreshed by `jose`), or from a JWKS file read once at start. */
  jwksUri?: URL;
  jwks?: Parameters<typeof createLocalJWKSet>[0];
  /** Expected `aud`, when the upstream has a resource identifier. */
  audience?: string;
}

export type BearerVerifier = (token: string) => Promise<AuthInfoLike>;

/**
 * Verifies bearer tokens the client sends the upstream, for the record only: the upstream still decides.
 * A verified token's subject becomes the request's principal; a failed one is recorded as rejected.
 */
export function createBearerVerifier(options: JwtVerification): BearerVerifier {
  let keys: JWTVerifyGetKey;
  if (options.jwksUri !== undefined) keys = createRemoteJWKSet(options.jwksUri);
  else if (options.jwks !== undefined) keys = createLocalJWKSet(options.jwks);
  else throw new McpwatchError('CONFIG_INVALID', '--issuer needs --jwks-uri or --jwks-file');
  return async (token) => {
    const { payload } = await jwtVerify(token, keys, {
      issuer: options.issuer,
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    });
    return authInfoOf(token, payload);
  };
}

function authInfoOf(token: string, payload: JWTPayload): AuthInfoLike {
  const scope = payload['scope'] ?? payload['scp'];
  return {
    token,
    clientId: payload['azp'] ?? payload['client_id'],
    scopes: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : Array.isArray(scope) ? scope : [],
    ...(payload.exp === undefined ? {} : { expiresAt: payload.exp }),
    extra: payload,
  };
}
