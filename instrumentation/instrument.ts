import type { ServerLike, TransportLike } from './internal-types.ts';
import { watchOutboundRequests } from './outbound.ts';
import { hookTransport, watchInboundHttpRequests } from './transport-hooks.ts';
import { globalTelemetry, guard, Telemetry } from '../observer/telemetry.ts';
import type { InstrumentOptions } from './types.ts';

const PATCHED = Symbol.for('mcpwatch.server.patched');
const INSTRUMENTED = Symbol.for('mcpwatch.server.instrumented');

type Marked = { [PATCHED]?: true; [INSTRUMENTED]?: true };

/** The low-level `Server` behind an `McpServer` (its `.server`), or the argument itself. */
function lowLevelServer(server: unknown): (ServerLike & Marked) | undefined {
  if (typeof server !== 'object' || server === null) return undefined;
  const inner = (server as { server?: unknown }).server;
  const candidate = typeof inner === 'object' && inner !== null && 'connect' in inner ? inner : server;
  return typeof (candidate as { connect?: unknown }).connect === 'function'
    ? (candidate as ServerLike & Marked)
    : undefined;
}

function wrapConnect(connect: ServerLike['connect'], telemetryOf: () => Telemetry): ServerLike['connect'] {
  return function (this: ServerLike, transport: TransportLike) {
    guard('connect hook', () => hookTransport(this, transport, telemetryOf()));
    return connect.call(this, transport);
  };
}

/**
 * Patches the SDK's `Server` class so that every instance is followed (what `mcpwatch/register` does for each
 * copy of the SDK it sees). Idempotent per class.
 */
export function patchServerClass(serverClass: unknown): boolean {
  const prototype = (serverClass as { prototype?: unknown } | undefined)?.prototype as
    (ServerLike & Marked) | undefined;
  if (
    prototype === undefined ||
    typeof prototype.connect !== 'function' ||
    typeof (prototype as { getClientCapabilities?: unknown }).getClientCapabilities !== 'function'
  ) {
    return false;
  }
  if (prototype[PATCHED] === true) return true;
  Object.defineProperty(prototype, PATCHED, { value: true });
  prototype.connect = wrapConnect(prototype.connect, globalTelemetry);
  return true;
}

/**
 * Instruments one MCP server (`McpServer` or the low-level `Server`), for bundled code or a second copy of the
 * SDK that `mcpwatch/register` cannot see. Calling it again, or on a server whose class is already patched, is
 * harmless. Returns the server it was given.
 */
export function instrument<S>(server: S, options: InstrumentOptions = {}): S {
  guard('instrument', () => {
    const target = lowLevelServer(server);
    if (target === undefined || target[INSTRUMENTED] === true) return;
    Object.defineProperty(target, INSTRUMENTED, { value: true });
    watchOutboundRequests();
    watchInboundHttpRequests();
    const custom = options.tracerProvider ?? options.meterProvider ?? options.loggerProvider;
    let telemetry: Telemetry | undefined;
    const telemetryOf = (): Telemetry =>
      (telemetry ??= custom === undefined ? globalTelemetry() : new Telemetry(options));
    // An own `connect` shadows the prototype's, patched or not; `hookTransport` is idempotent per transport.
    target.connect = wrapConnect(target.connect, telemetryOf);
    if (target.transport !== undefined) hookTransport(target, target.transport, telemetryOf(), true);
  });
  return server;
}
