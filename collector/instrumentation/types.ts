import type { LoggerProvider } from '@opentelemetry/api-logs';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** Options of `instrument()`. Telemetry goes to the global OTel providers unless given here. */
export interface InstrumentOptions {
  tracerProvider?: TracerProvider;
  meterProvider?: MeterProvider;
  loggerProvider?: LoggerProvider;
}

/** The token verifier shape of the SDK's `requireBearerAuth({ verifier })` (`OAuthTokenVerifier`). */
export interface TokenVerifier<AuthInfo> {
  verifyAccessToken(token: string): Promise<AuthInfo>;
}
