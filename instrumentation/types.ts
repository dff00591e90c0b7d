import type { TelemetryProviders } from '../observer/telemetry-providers.ts';

/** Options of `instrument()`. Telemetry goes to the global OTel providers unless given here. */
export type InstrumentOptions = TelemetryProviders;

/** The token verifier shape of the SDK's `requireBearerAuth({ verifier })` (`OAuthTokenVerifier`). */
export interface TokenVerifier<AuthInfo> {
  verifyAccessToken(token: string): Promise<AuthInfo>;
}
