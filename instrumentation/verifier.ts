import { rejectedTokenEvent } from '../observer/auth.ts';
import { globalTelemetry, guard } from '../observer/telemetry.ts';
import type { TokenVerifier } from './types.ts';

export interface InstrumentVerifierOptions {
  /** The `serverInfo.name` rejections are attributed to; they happen before any MCP server sees the request. */
  serverName?: string;
  serverVersion?: string;
}

/**
 * Wraps the token verifier given to the SDK's `requireBearerAuth({ verifier })` so that rejected tokens become
 * `auth` events (outcome `rejected`, with the verifier's reason and the token's fingerprint). The verifier's
 * answer, and its error, pass through unchanged.
 */
export function instrumentVerifier<V extends TokenVerifier<unknown>>(
  verifier: V,
  options: InstrumentVerifierOptions = {},
): V {
  const wrapped = Object.create(verifier) as V;
  wrapped.verifyAccessToken = async (token: string) => {
    guard('verifier hook', () => globalTelemetry().secrets.remember(token));
    try {
      return await verifier.verifyAccessToken(token);
    } catch (error) {
      guard('verifier rejection hook', () => {
        const telemetry = globalTelemetry();
        telemetry.emit(rejectedTokenEvent(telemetry, token, error), {
          name: options.serverName ?? process.env['OTEL_SERVICE_NAME'] ?? 'unknown',
          ...(options.serverVersion === undefined ? {} : { version: options.serverVersion }),
        });
      });
      throw error;
    }
  };
  return wrapped;
}
