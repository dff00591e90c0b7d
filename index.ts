/** The `mcpwatch` package entry: explicit instrumentation and the event contracts. */
export {
  instrument,
  instrumentVerifier,
  shutdownInstrumentation,
  startInstrumentation,
} from '@mcpwatch/instrumentation';
export type {
  InstrumentOptions,
  InstrumentVerifierOptions,
  TelemetryPipeline,
  TokenVerifier,
} from '@mcpwatch/instrumentation';
export { McpEvent, MCP_EVENT_SCHEMA_VERSION } from './contracts/mcp-event.ts';
export { Alert, ALERT_SCHEMA_VERSION } from './contracts/alert.ts';
export { parseAlert, parseMcpEvent } from './contracts/parse.ts';
export type { InputIssue, ParseResult } from './contracts/parse.ts';
