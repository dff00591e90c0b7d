/*
 * Copied from the OpenTelemetry semantic conventions for MCP, which moved from the main semconv repository
 * (1.37 – 1.45, now deprecated there) to the GenAI semantic-conventions repository (`docs/gen-ai/mcp.md`,
 * development status; names checked against its v0.1.0 and main). `@opentelemetry/semantic-conventions` only
 * ships them as unstable `incubating` exports; pinned here so a release cannot rename what we emit under our
 * feet. Opt-in tool content goes in `gen_ai.tool.call.arguments` / `gen_ai.tool.call.result` (JSON text).
 * From protocol revision 2026-07-28 `mcp.session.id` is absent (no sessions) and `mcp.protocol.version` comes
 * from each request's `_meta`.
 */
export const ATTR_MCP_METHOD_NAME = 'mcp.method.name';
export const ATTR_MCP_SESSION_ID = 'mcp.session.id';
export const ATTR_MCP_PROTOCOL_VERSION = 'mcp.protocol.version';
export const ATTR_MCP_RESOURCE_URI = 'mcp.resource.uri';
export const ATTR_JSONRPC_REQUEST_ID = 'jsonrpc.request.id';
export const ATTR_JSONRPC_PROTOCOL_VERSION = 'jsonrpc.protocol.version';
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_PROMPT_NAME = 'gen_ai.prompt.name';
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const ATTR_GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_RPC_RESPONSE_STATUS_CODE = 'rpc.response.status_code';
export const ATTR_NETWORK_TRANSPORT = 'network.transport';
export const ATTR_NETWORK_PROTOCOL_NAME = 'network.protocol.name';
export const ATTR_CLIENT_ADDRESS = 'client.address';

/** `gen_ai.operation.name` for `tools/call`. */
export const GEN_AI_OPERATION_EXECUTE_TOOL = 'execute_tool';
/** `error.type` for a tool result with `isError: true`. */
export const ERROR_TYPE_TOOL_ERROR = 'tool_error';

export const METRIC_MCP_SERVER_OPERATION_DURATION = 'mcp.server.operation.duration';
export const METRIC_MCP_SERVER_SESSION_DURATION = 'mcp.server.session.duration';
/** Explicit bucket boundaries the conventions recommend for both duration histograms, in seconds. */
export const DURATION_BUCKETS_SECONDS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
