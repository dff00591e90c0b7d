import { performance } from 'node:perf_hooks';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import type { McpRequestHeaders, SecretFinding, TokenClaims } from '../contracts/mcp-event.ts';
import { sanitizeResourceUri } from '../contracts/resource-uri.ts';
import type { Connection } from './connection.ts';
import { capture, detectSecrets, resultText } from './content.ts';
import { str } from './connection.ts';
import { isoNow } from './event-time.ts';
import type { PresentedToken } from './identity.ts';
import type { RequestEnvelope } from './request-meta.ts';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROMPT_NAME,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_JSONRPC_REQUEST_ID,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_PROTOCOL_VERSION,
  ATTR_MCP_RESOURCE_URI,
  ATTR_MCP_SESSION_ID,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_TRANSPORT,
  ATTR_RPC_RESPONSE_STATUS_CODE,
  ERROR_TYPE_TOOL_ERROR,
  GEN_AI_OPERATION_EXECUTE_TOOL,
} from './semconv.ts';
import type { Telemetry } from './telemetry.ts';
import type { AuditEvent, InboundContext, JsonRpcId, JsonRpcMessage } from './types.ts';

type CallAuditEvent = Extract<AuditEvent, { kind: 'call' }>;

/** Requests in flight per connection that we follow; beyond it requests pass untouched and are counted. */
const MAX_PENDING = 4096;
/** Distinct histogram attribute sets kept per connection for reuse. */
const MAX_METRIC_ATTRIBUTE_SETS = 256;

/** One request between its arrival and its response. */
export interface PendingCall {
  span: Span;
  spanContext: Context;
  startedAt: number;
  time: string;
  method: string;
  requestId: string;
  tool?: string;
  prompt?: string;
  resourceUri?: string;
  presented?: PresentedToken;
  authenticated: boolean;
  /** The peer address of this request. */
  clientAddress?: string;
  arguments?: string;
  secretFindings?: SecretFinding[];
  /** The 2026-07-28 per-request `_meta` envelope, when the request carried one. */
  envelope?: RequestEnvelope;
  mcpHeaders?: McpRequestHeaders;
  resultType?: 'complete' | 'input_required';
}

/** What the request itself says beyond its method and params (`_meta` envelope, HTTP metadata headers). */
export interface RequestFacts {
  envelope?: RequestEnvelope;
  mcpHeaders?: McpRequestHeaders;
}

/** Bounded JSON text of an exported copy, scrubbed once. */
function exportedJson(copy: unknown, telemetry: Telemetry): string | undefined {
  const json = JSON.stringify(copy);
  return json === undefined ? undefined : boundedText(telemetry.secrets.scrub(json), telemetry);
}

function boundedText(text: string, telemetry: Telemetry): string {
  const max = telemetry.config.MCPWATCH_CONTENT_MAX_CHARS;
  return text.length > max ? text.slice(0, max) : text;
}

/** What a finished call exports of its result (opt-in). */
interface CapturedResult {
  text?: string;
  structured?: string;
}

/**
 * Requests and their outcome: a SERVER span per request (MCP semantic conventions), the duration histogram,
 * and a `call` event when the response leaves, with the opt-in arguments and result.
 */
export class CallTracker {
  readonly #pending = new Map<JsonRpcId, PendingCall>();
  readonly #metricAttributeSets = new Map<string, Attributes>();

  constructor(private readonly connection: Connection) {}

  /** Starts following request `id`; `undefined` when the bound of requests in flight is reached. */
  start(
    method: string,
    id: JsonRpcId,
    params: Record<string, unknown>,
    presented: PresentedToken | undefined,
    inbound: InboundContext,
    parent: Context,
    facts: RequestFacts = {},
  ): PendingCall | undefined {
    const { telemetry } = this.connection;
    if (this.#pending.size >= MAX_PENDING) {
      telemetry.untracked.add(1, { reason: 'pending-bound' });
      return undefined;
    }
    const call = {
      method,
      requestId: String(id).slice(0, 256),
      startedAt: performance.now(),
      time: isoNow(),
      authenticated: inbound.authInfo !== undefined,
    } as PendingCall;
    if (presented !== undefined) call.presented = presented;
    if (facts.envelope !== undefined) call.envelope = facts.envelope;
    if (facts.mcpHeaders !== undefined) call.mcpHeaders = facts.mcpHeaders;
    const name = str(params['name']);
    if (method === 'tools/call' && name !== undefined) call.tool = name.slice(0, 512);
    if (method === 'prompts/get' && name !== undefined) call.prompt = name.slice(0, 512);
    const uri = str(params['uri']);
    if (method.startsWith('resources/') && uri !== undefined)
      call.resourceUri = telemetry.secrets.scrubUri(sanitizeResourceUri(uri));
    const attributes: Attributes = {
      [ATTR_MCP_METHOD_NAME]: method,
      [ATTR_JSONRPC_REQUEST_ID]: call.requestId,
      [ATTR_NETWORK_TRANSPORT]: this.connection.networkTransport,
    };
    if (this.connection.kind !== 'stdio') attributes[ATTR_NETWORK_PROTOCOL_NAME] = 'http';
    if (this.connection.sessionId !== undefined) attributes[ATTR_MCP_SESSION_ID] = this.connection.sessionId;
    const protocolVersion =
      facts.envelope?.protocolVersion ?? this.connection.protocolVersion ?? str(params['protocolVersion']);
    if (protocolVersion !== undefined) attributes[ATTR_MCP_PROTOCOL_VERSION] = protocolVersion;
    if (call.tool !== undefined) {
      attributes[ATTR_GEN_AI_TOOL_NAME] = call.tool;
      attributes[ATTR_GEN_AI_OPERATION_NAME] = GEN_AI_OPERATION_EXECUTE_TOOL;
    }
    if (call.prompt !== undefined) attributes[ATTR_GEN_AI_PROMPT_NAME] = call.prompt;
    if (call.resourceUri !== undefined) attributes[ATTR_MCP_RESOURCE_URI] = call.resourceUri;
    if (inbound.clientAddress !== undefined) {
      call.clientAddress = inbound.clientAddress;
      attributes[ATTR_CLIENT_ADDRESS] = inbound.clientAddress;
    }
    if (telemetry.config.MCPWATCH_CAPTURE_CONTENT && call.tool !== undefined && params['arguments'] !== undefined) {
      // Detect on the raw value first; only then is anything scrubbed.
      const captured = capture(params['arguments'], 'arguments');
      const findings = detectSecrets(captured.texts, telemetry.keyring, telemetry.secrets);
      if (findings.length > 0) call.secretFindings = findings;
      const text = exportedJson(captured.copy, telemetry);
      if (text !== undefined) {
        call.arguments = text;
        attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS] = text;
      }
    }
    const target = call.tool ?? call.prompt;
    call.span = telemetry.tracer.startSpan(
      target === undefined ? method : `${method} ${target}`,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    call.spanContext = trace.setSpan(parent, call.span);
    this.#pending.set(id, call);
    return call;
  }

  /** The request a response answers, no longer pending. */
  take(id: JsonRpcId): PendingCall | undefined {
    const call = this.#pending.get(id);
    if (call !== undefined) this.#pending.delete(id);
    return call;
  }

  /**
   * Ends the call's span and emits its `call` event; returns the result object, if any. `onResult` reads the
   * result before the span ends and the event is built (the handshake learns the negotiated version there).
   */
  finish(
    call: PendingCall,
    response: JsonRpcMessage,
    onResult?: (result: Record<string, unknown>, span: Span) => void,
  ): Record<string, unknown> | undefined {
    const { telemetry } = this.connection;
    const seconds = (performance.now() - call.startedAt) / 1000;
    const result = typeof response.result === 'object' && response.result !== null ? response.result : undefined;
    let outcome: 'ok' | 'error' | 'tool-error' = 'ok';
    let errorType: string | undefined;
    if (response.error !== undefined) {
      outcome = 'error';
      const code = response.error.code;
      errorType = typeof code === 'number' || typeof code === 'string' ? String(code) : 'unknown';
      call.span.setAttribute(ATTR_RPC_RESPONSE_STATUS_CODE, errorType);
      const message = str(response.error.message);
      if (message !== undefined && call.tool !== undefined && telemetry.config.MCPWATCH_CAPTURE_CONTENT) {
        call.secretFindings = detectSecrets(
          [{ location: 'error.message', text: message }],
          telemetry.keyring,
          telemetry.secrets,
          call.secretFindings,
        );
      }
      call.span.setStatus({
        code: SpanStatusCode.ERROR,
        message: message === undefined ? errorType : telemetry.secrets.scrub(message.slice(0, 1024)),
      });
    } else if (result?.['isError'] === true && result['resultType'] !== 'input_required') {
      outcome = 'tool-error';
      errorType = ERROR_TYPE_TOOL_ERROR;
      call.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (errorType !== undefined) call.span.setAttribute(ATTR_ERROR_TYPE, errorType);
    let captured: CapturedResult | undefined;
    if (telemetry.config.MCPWATCH_CAPTURE_CONTENT && call.tool !== undefined && result !== undefined) {
      captured = this.#captureResult(call, result);
      if (captured.text !== undefined) call.span.setAttribute(ATTR_GEN_AI_TOOL_CALL_RESULT, captured.text);
    }
    const resultType = result?.['resultType'];
    if (resultType === 'complete' || resultType === 'input_required') call.resultType = resultType;
    if (result !== undefined) onResult?.(result, call.span);
    call.span.end();
    this.#record(call, { seconds, outcome, errorType, captured });
    return result;
  }

  /**
   * The result as the model reads it (text with its real characters) and its structured part as JSON, each
   * scanned for secrets on the raw value before it is scrubbed once and bounded.
   */
  #captureResult(call: PendingCall, result: Record<string, unknown>): CapturedResult {
    const { telemetry } = this.connection;
    const captured: CapturedResult = {};
    const findings = call.secretFindings ?? [];
    const read = resultText(result);
    if (read !== undefined) {
      detectSecrets(read.texts, telemetry.keyring, telemetry.secrets, findings);
      captured.text = boundedText(telemetry.secrets.scrub(read.text), telemetry);
    } else {
      const whole = capture(result, 'result');
      detectSecrets(whole.texts, telemetry.keyring, telemetry.secrets, findings);
      const text = exportedJson(whole.copy, telemetry);
      if (text !== undefined) captured.text = text;
    }
    if (read !== undefined && result['structuredContent'] !== undefined) {
      const structured = capture(result['structuredContent'], 'structuredResult');
      detectSecrets(structured.texts, telemetry.keyring, telemetry.secrets, findings);
      const text = exportedJson(structured.copy, telemetry);
      if (text !== undefined) captured.structured = text;
    }
    if (findings.length > 0) call.secretFindings = findings;
    return captured;
  }

  /**
   * The histogram's attribute set of a call, one object per distinct set (reused, never rebuilt), so that a
   * connection's calls record with a handful of attribute objects.
   */
  #metricAttributes(call: PendingCall, errorType: string | undefined): Attributes {
    const connection = this.connection;
    const protocolVersion = call.envelope?.protocolVersion ?? connection.protocolVersion;
    const key = `${call.method}\u0000${call.tool ?? ''}\u0000${call.prompt ?? ''}\u0000${errorType ?? ''}\u0000${protocolVersion ?? ''}`;
    let attributes = this.#metricAttributeSets.get(key);
    if (attributes !== undefined) return attributes;
    attributes = {
      [ATTR_MCP_METHOD_NAME]: call.method,
      [ATTR_NETWORK_TRANSPORT]: connection.networkTransport,
    };
    if (call.tool !== undefined) attributes[ATTR_GEN_AI_TOOL_NAME] = call.tool;
    if (call.prompt !== undefined) attributes[ATTR_GEN_AI_PROMPT_NAME] = call.prompt;
    if (errorType !== undefined) attributes[ATTR_ERROR_TYPE] = errorType;
    if (protocolVersion !== undefined) attributes[ATTR_MCP_PROTOCOL_VERSION] = protocolVersion;
    if (this.#metricAttributeSets.size < MAX_METRIC_ATTRIBUTE_SETS) this.#metricAttributeSets.set(key, attributes);
    return attributes;
  }

  /** Every request still pending ends as unanswered (the connection closed). */
  abandonAll(): void {
    for (const [id, call] of this.#pending) {
      this.#pending.delete(id);
      this.finish(call, {
        id,
        error: { code: 'connection_closed', message: 'Connection closed before a response was sent.' },
      });
    }
  }

  /** The duration histogram and the `call` event of an ended call. */
  #record(
    call: PendingCall,
    ended: {
      seconds: number;
      outcome: 'ok' | 'error' | 'tool-error';
      errorType: string | undefined;
      captured: CapturedResult | undefined;
    },
  ): void {
    const connection = this.connection;
    const { seconds, outcome, errorType, captured } = ended;
    connection.telemetry.operationDuration?.record(seconds, this.#metricAttributes(call, errorType));
    const protocolVersion = call.envelope?.protocolVersion ?? connection.protocolVersion;
    const claims: TokenClaims | undefined = call.presented?.claims;
    // Optional fields assigned one by one (in the contract's order), not spread: this runs once per request.
    const event: CallAuditEvent = {
      ...connection.envelope(call.presented?.principal, undefined, {
        time: call.time,
        span: call.span.spanContext(),
        clientAddress: call.clientAddress,
        client: call.envelope?.client,
      }),
      kind: 'call',
      method: call.method.slice(0, 256),
      requestId: call.requestId,
      outcome,
      durationMs: seconds * 1000,
      authenticated: call.authenticated,
    };
    if (call.tool !== undefined) event.tool = call.tool;
    if (call.prompt !== undefined) event.prompt = call.prompt;
    if (call.resourceUri !== undefined) event.resourceUri = call.resourceUri;
    if (protocolVersion !== undefined) event.protocolVersion = protocolVersion;
    if (call.envelope !== undefined) event.stateless = true;
    if (call.resultType !== undefined) event.resultType = call.resultType;
    if (call.mcpHeaders !== undefined) event.mcpHeaders = call.mcpHeaders;
    if (errorType !== undefined) event.errorType = errorType;
    if (claims !== undefined) {
      event.tokenFingerprint = claims.fingerprint;
      event.scopes = claims.scopes;
    }
    if (call.presented?.expiresAt !== undefined) event.tokenExpiresAt = call.presented.expiresAt;
    if (call.arguments !== undefined) event.arguments = call.arguments;
    if (captured?.text !== undefined) event.result = captured.text;
    if (captured?.structured !== undefined) event.structuredResult = captured.structured;
    if (call.secretFindings !== undefined) event.secretFindings = call.secretFindings;
    connection.telemetry.emit(event, connection.server, call.spanContext);
  }
}
