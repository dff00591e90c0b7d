import { subscribe } from 'node:diagnostics_channel';
import { context } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { bearerToken } from '../observer/identity.ts';
import { isoNow } from '../observer/event-time.ts';
import type { ServerRef } from '../observer/types.ts';
import { currentCallScope } from './transport-hooks.ts';
import { globalTelemetry, guard } from '../observer/telemetry.ts';

/** The `server` of an outbound request made outside any MCP request (startup, timers). */
function processServerRef(): ServerRef {
  return { name: process.env['OTEL_SERVICE_NAME'] ?? 'unknown' };
}

/** `undici:request:create` carries headers as a flat `[name, value, ...]` array (undici 6) or a raw header block (5). */
function undiciAuthorization(headers: unknown): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'authorization') return String(headers[i + 1]);
    }
    return undefined;
  }
  if (typeof headers === 'string') return /^authorization:\s*(.*)$/im.exec(headers)?.[1]?.trim();
  return undefined;
}

function hostOf(origin: unknown): string | undefined {
  try {
    return new URL(String(origin)).host;
  } catch {
    return undefined;
  }
}

/** Emits `outbound-request` for a request that carries a bearer token: its fingerprint and destination host only. */
function observeOutbound(authorization: unknown, host: string | undefined, method: unknown): void {
  const token = bearerToken(authorization);
  if (token === undefined || host === undefined || host === '') return;
  // Our own exporters run with tracing suppressed; their requests are not the server's.
  if (isTracingSuppressed(context.active())) return;
  const telemetry = globalTelemetry();
  telemetry.secrets.remember(token);
  const scope = currentCallScope();
  telemetry.emit(
    {
      kind: 'outbound-request',
      time: isoNow(),
      destinationHost: host.slice(0, 256),
      tokenFingerprint: telemetry.keyring.fingerprint(token),
      ...(typeof method === 'string' ? { method: method.slice(0, 16) } : {}),
      ...(scope === undefined ? {} : { transport: scope.transport }),
      ...(scope?.sessionId === undefined ? {} : { sessionId: scope.sessionId }),
      ...(scope?.principal === undefined ? {} : { principal: scope.principal }),
    },
    scope?.server ?? processServerRef(),
  );
}

let subscribed = false;

/** Watches `fetch` (undici) and `http`/`https` client requests through diagnostics channels. Idempotent. */
export function watchOutboundRequests(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:request:create', (message) =>
    guard('outbound fetch hook', () => {
      const request = (message as { request?: { origin?: unknown; method?: unknown; headers?: unknown } }).request;
      observeOutbound(undiciAuthorization(request?.headers), hostOf(request?.origin), request?.method);
    }),
  );
  subscribe('http.client.request.start', (message) =>
    guard('outbound http hook', () => {
      const request = (
        message as { request?: { getHeader?: (name: string) => unknown; host?: unknown; method?: unknown } }
      ).request;
      const host = typeof request?.host === 'string' ? request.host : undefined;
      observeOutbound(request?.getHeader?.('authorization'), host, request?.method);
    }),
  );
}
