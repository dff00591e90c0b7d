import { watchOutboundRequests } from './outbound.ts';
import { hookSdkModules } from './sdk-hooks.ts';
import { watchInboundHttpRequests } from './transport-hooks.ts';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import type { TelemetryPipeline } from '../observer/export/pipeline.ts';
import { instrumentationConfig } from '../observer/telemetry.ts';

export { instrument, patchServerClass } from './instrument.ts';
export { instrumentVerifier } from './verifier.ts';
export type { InstrumentVerifierOptions } from './verifier.ts';
export type { InstrumentOptions, TokenVerifier } from './types.ts';
export type { TelemetryPipeline } from '../observer/export/pipeline.ts';

const STARTED = Symbol.for('mcpwatch.instrumentation.started');

/**
 * What `mcpwatch/register` does: validates the configuration (throws `CONFIG_INVALID` naming the variable),
 * starts the OTLP pipeline, patches every MCP SDK server the process loads and watches outbound requests for
 * bearer tokens. Once per process, even across duplicate copies of mcpwatch.
 */
export function startInstrumentation(): TelemetryPipeline {
  const global = globalThis as Record<symbol, TelemetryPipeline | undefined>;
  const started = global[STARTED];
  if (started !== undefined) return started;
  instrumentationConfig();
  const pipeline = startTelemetryPipeline();
  global[STARTED] = pipeline;
  hookSdkModules();
  watchOutboundRequests();
  watchInboundHttpRequests();
  return pipeline;
}

/** Exports what is buffered and stops the pipeline `mcpwatch/register` started (no-op when it did not). */
export async function shutdownInstrumentation(): Promise<void> {
  await (globalThis as Record<symbol, TelemetryPipeline | undefined>)[STARTED]?.shutdown();
}
