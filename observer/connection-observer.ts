import { performance } from 'node:perf_hooks';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, TextMapGetter } from '@opentelemetry/api';
import type { ClientIdentity, McpTransport, Principal, TokenClaims } from '../contracts/mcp-event.ts';
import { toolCatalogSnapshot } from './catalog.ts';
import { audienceMatches, bearerToken, describeToken } from './identity.ts';
import type { AuthInfoLike, PresentedToken } from './identity.ts';
import type { JsonRpcId, JsonRpcMessage, ServerRef } from './types.ts';
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
import { assessSessionId } from './session-id.ts';
import { guard } from './telemetry.ts';
import type { Telemetry } from './telemetry.ts';
import { sanitizeResourceUri } from '../contracts/resource-uri.ts';

/** Requests in flight per transport that we follow; beyond it requests pass untouched and are counted. */
const MAX_PENDING = 4096;
/** Distinct tokens and mismatching principals remembered per transport (one audit event each). */
const MAX_SEEN = 256;

/** What the attachment knows about the message in hand besides its bytes (one request's HTTP layer, or none). */
export interface InboundContext {
  /** The transport's session id when the message arrived (`Mcp-Session-Id`), if it has sessions. */
  sessionId?: string;
  headers?: Record<string, string | string[] | undefined>;
  /** The peer address of this request (not of the session's first one). */
  clientAddress?: string;
  /** Auth info a verifier in front of the server established; absent when the token (if any) is unverified. */
  authInfo?: AuthInfoLike;
}

/** What the attachment knows about the connection as a whole. */
export interface ConnectionContext {
  transport: McpTransport;
  /** Identity until the server's own `initialize` result names it. */
  server?: ServerRef;
  instructions?: unknown;
  /** The `tools` array the server serves now, asked when it announces a list change (the message carries none). */
  readToolList?: (sessionId: string | undefined) => Promise<unknown>;
}

/** The MCP request being handled, for hooks deeper in the stack (outbound HTTP). */
export interface CallScope {
  server: ServerRef;
  sessionId?: string;
  principal?: Principal;
  transport: McpTransport;
}

/** What observing an inbound message yields: the OTel context and call scope its handling should run in. */
export interface ObservedInbound {
  context: Context;
  scope: CallScope;
}

const metaGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

interface PendingCall {
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
  arguments?: string;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Bounded, scrubbed JSON text of opt-in content. */
function contentText(value: unknown, telemetry: Telemetry): string | undefined {
  const max = telemetry.config.MCPWATCH_CONTENT_MAX_CHARS;
  const json = JSON.stringify(value);
  return json === undefined ? undefined : telemetry.secrets.scrub(json).slice(0, max);
}

/** Session ids this process handed out, per server name, to judge whether the next one follows a sequence. */
const previousSessionId = new Map<string, string>();

/**
 * The one MCP observer: follows one server connection, every JSON-RPC message in (client → server) and out
 * (server → client), and turns it into spans and audit events without changing any of them. It knows nothing
 * of how it is attached: the in-process instrumentation feeds it from the SDK's transport, the gateway from
 * relayed bytes. All state is per connection; a stateful Streamable HTTP session is one connection.
 */
export class ConnectionObserver {
  readonly kind: McpTransport;
  readonly #pending = new Map<JsonRpcId, PendingCall>();
  readonly #seenTokens = new Set<string>();
  readonly #mismatched = new Set<string>();
  readonly #client: ClientIdentity = {};
  #serverRef: ServerRef;
  #instructions: unknown;
  #protocolVersion: string | undefined;
  #sessionId: string | undefined;
  #sessionStartedAt = 0;
  #boundPrincipal: Principal | undefined;
  #closed = false;

  readonly #readToolList: ConnectionContext['readToolList'];

  constructor(
    connection: ConnectionContext,
    private readonly telemetry: Telemetry,
  ) {
    this.kind = connection.transport;
    this.#serverRef = connection.server ?? { name: 'unknown' };
    this.#instructions = connection.instructions;
    this.#readToolList = connection.readToolList;
  }

  /**
   * Inbound message, before the server handles it. Returns the context its handling should run in (the
   * request's span), or `undefined` when it is not followed; never throws.
   */
  onInbound(message: unknown, inbound: InboundContext = {}): ObservedInbound | undefined {
    return guard('inbound message hook', () => this.#begin(message as JsonRpcMessage, inbound));
  }

  /** Outbound message: observed before it is sent, never altered. */
  onOutbound(message: unknown): void {
    guard('outbound message hook', () => this.#observeSend(message as JsonRpcMessage));
  }

  onClose(): void {
    guard('close hook', () => this.#close());
  }

  #begin(message: JsonRpcMessage, inbound: InboundContext): ObservedInbound | undefined {
    const method = str(message.method);
    if (method === undefined) return undefined;
    const headers = inbound.headers;
    const params = typeof message.params === 'object' && message.params !== null ? message.params : {};
    if (method === 'initialize') this.#onInitialize(params, headers);
    const presented = this.#authenticate(inbound.authInfo, headers, inbound);
    this.#trackSession(presented?.principal, inbound);
    const scope: CallScope = {
      server: this.#serverRef,
      transport: this.kind,
      ...(this.#sessionId === undefined ? {} : { sessionId: this.#sessionId }),
      ...(presented?.principal === undefined ? {} : { principal: presented.principal }),
    };
    const meta = params['_meta'];
    const parent =
      typeof meta === 'object' && meta !== null
        ? propagation.extract(ROOT_CONTEXT, meta as Record<string, unknown>, metaGetter)
        : context.active();
    if (message.id === undefined) return { context: parent, scope };
    if (this.#pending.size >= MAX_PENDING) {
      this.telemetry.untracked.add(1, { reason: 'pending-bound' });
      return { context: parent, scope };
    }
    const call = this.#startCall(
      method,
      message.id,
      params,
      presented,
      inbound.authInfo !== undefined,
      inbound,
      parent,
    );
    this.#pending.set(message.id, call);
    return { context: call.spanContext, scope };
  }

  #onInitialize(
    params: Record<string, unknown>,
    headers: Record<string, string | string[] | undefined> | undefined,
  ): void {
    const clientInfo = params['clientInfo'] as Record<string, unknown> | undefined;
    const name = str(clientInfo?.['name']);
    const version = str(clientInfo?.['version']);
    if (name !== undefined) this.#client.name = name.slice(0, 256);
    if (version !== undefined) this.#client.version = version.slice(0, 128);
    const userAgent = firstHeader(headers?.['user-agent']);
    if (userAgent !== undefined) this.#client.userAgent = userAgent.slice(0, 512);
    this.#protocolVersion ??= str(params['protocolVersion'])?.slice(0, 64);
  }

  #authenticate(
    authInfo: AuthInfoLike | undefined,
    headers: Record<string, string | string[] | undefined> | undefined,
    http: InboundContext | undefined,
  ): PresentedToken | undefined {
    const cookie = firstHeader(headers?.['cookie']);
    if (cookie !== undefined) this.telemetry.secrets.rememberCookies(cookie);
    const verified = str(authInfo?.token);
    const token = verified ?? bearerToken(headers?.['authorization']);
    if (token === undefined) return undefined;
    this.telemetry.secrets.remember(token);
    const presented = describeToken(token, authInfo, this.telemetry.keyring, this.telemetry.config.MCPWATCH_REAL_IDS);
    // An unverified token's subject is whatever the sender wrote: it names no principal.
    if (verified === undefined) delete presented.principal;
    if (this.#seenTokens.has(presented.claims.fingerprint) || this.#seenTokens.size >= MAX_SEEN) return presented;
    this.#seenTokens.add(presented.claims.fingerprint);
    const audienceMatchesServer = audienceMatches(presented.claims, this.telemetry.config.MCPWATCH_RESOURCE);
    this.telemetry.emit(
      {
        ...this.#envelope(presented.principal, http),
        kind: 'auth',
        outcome: verified === undefined ? 'unverified-bearer' : 'accepted',
        token: presented.claims,
        ...(audienceMatchesServer === undefined ? {} : { audienceMatchesServer }),
      },
      this.#serverRef,
    );
    return presented;
  }

  #trackSession(principal: Principal | undefined, http: InboundContext): void {
    const sessionId = http.sessionId;
    if (sessionId === undefined) return;
    if (this.#sessionId === undefined) {
      this.#sessionId = sessionId;
      this.#sessionStartedAt = performance.now();
      this.#boundPrincipal = principal;
      if (http.clientAddress !== undefined) this.#client.address = http.clientAddress;
      const previous = previousSessionId.get(this.#serverRef.name);
      previousSessionId.set(this.#serverRef.name, sessionId);
      this.telemetry.emit(
        {
          ...this.#envelope(principal, http),
          kind: 'session',
          action: 'created',
          idAssessment: assessSessionId(sessionId, previous),
          ...(http.clientAddress === undefined ? {} : { boundClientAddress: http.clientAddress }),
        },
        this.#serverRef,
      );
      return;
    }
    const bound = this.#boundPrincipal?.id;
    if (principal === undefined || principal.id === bound || this.#mismatched.has(principal.id)) return;
    if (this.#mismatched.size >= MAX_SEEN) return;
    this.#mismatched.add(principal.id);
    this.telemetry.emit(
      {
        ...this.#envelope(principal, http),
        kind: 'session',
        action: 'principal-mismatch',
        ...(bound === undefined ? {} : { boundPrincipalId: bound }),
        ...(this.#client.address === undefined ? {} : { boundClientAddress: this.#client.address }),
      },
      this.#serverRef,
    );
  }

  #startCall(
    method: string,
    id: JsonRpcId,
    params: Record<string, unknown>,
    presented: PresentedToken | undefined,
    authenticated: boolean,
    http: InboundContext | undefined,
    parent: Context,
  ): PendingCall {
    const call: PendingCall = {
      method,
      requestId: String(id).slice(0, 256),
      startedAt: performance.now(),
      time: new Date().toISOString(),
      authenticated,
      ...(presented === undefined ? {} : { presented }),
    } as PendingCall;
    const name = str(params['name']);
    if (method === 'tools/call' && name !== undefined) call.tool = name.slice(0, 512);
    if (method === 'prompts/get' && name !== undefined) call.prompt = name.slice(0, 512);
    const uri = str(params['uri']);
    if (method.startsWith('resources/') && uri !== undefined) call.resourceUri = sanitizeResourceUri(uri);
    const attributes: Attributes = {
      [ATTR_MCP_METHOD_NAME]: method,
      [ATTR_JSONRPC_REQUEST_ID]: call.requestId,
      [ATTR_NETWORK_TRANSPORT]: this.kind === 'stdio' ? 'pipe' : 'tcp',
    };
    if (this.kind !== 'stdio') attributes[ATTR_NETWORK_PROTOCOL_NAME] = 'http';
    if (this.#sessionId !== undefined) attributes[ATTR_MCP_SESSION_ID] = this.#sessionId;
    const protocolVersion = this.#protocolVersion ?? str(params['protocolVersion']);
    if (protocolVersion !== undefined) attributes[ATTR_MCP_PROTOCOL_VERSION] = protocolVersion;
    if (call.tool !== undefined) {
      attributes[ATTR_GEN_AI_TOOL_NAME] = call.tool;
      attributes[ATTR_GEN_AI_OPERATION_NAME] = GEN_AI_OPERATION_EXECUTE_TOOL;
    }
    if (call.prompt !== undefined) attributes[ATTR_GEN_AI_PROMPT_NAME] = call.prompt;
    if (call.resourceUri !== undefined) attributes[ATTR_MCP_RESOURCE_URI] = call.resourceUri;
    const address = http?.clientAddress ?? this.#client.address;
    if (address !== undefined) attributes[ATTR_CLIENT_ADDRESS] = address;
    if (
      this.telemetry.config.MCPWATCH_CAPTURE_CONTENT &&
      call.tool !== undefined &&
      params['arguments'] !== undefined
    ) {
      const text = contentText(params['arguments'], this.telemetry);
      if (text !== undefined) {
        call.arguments = text;
        attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS] = text;
      }
    }
    const target = call.tool ?? call.prompt;
    call.span = this.telemetry.tracer.startSpan(
      target === undefined ? method : `${method} ${target}`,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    call.spanContext = trace.setSpan(parent, call.span);
    return call;
  }

  #observeSend(message: JsonRpcMessage): void {
    if (message.id !== undefined && message.method === undefined) {
      const call = this.#pending.get(message.id);
      if (call !== undefined) {
        this.#pending.delete(message.id);
        this.#finishCall(call, message);
      }
      return;
    }
    if (message.method === 'notifications/tools/list_changed') this.#onToolListChanged();
  }

  #finishCall(call: PendingCall, response: JsonRpcMessage): void {
    const seconds = (performance.now() - call.startedAt) / 1000;
    const result = typeof response.result === 'object' && response.result !== null ? response.result : undefined;
    let outcome: 'ok' | 'error' | 'tool-error' = 'ok';
    let errorType: string | undefined;
    if (response.error !== undefined) {
      outcome = 'error';
      const code = response.error.code;
      errorType = typeof code === 'number' || typeof code === 'string' ? String(code) : 'unknown';
      call.span.setAttribute(ATTR_RPC_RESPONSE_STATUS_CODE, errorType);
      call.span.setStatus({
        code: SpanStatusCode.ERROR,
        message: str(response.error.message)?.slice(0, 1024) ?? errorType,
      });
    } else if (result?.['isError'] === true) {
      outcome = 'tool-error';
      errorType = ERROR_TYPE_TOOL_ERROR;
      call.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (errorType !== undefined) call.span.setAttribute(ATTR_ERROR_TYPE, errorType);
    let resultText: string | undefined;
    if (this.telemetry.config.MCPWATCH_CAPTURE_CONTENT && call.tool !== undefined && result !== undefined) {
      resultText = contentText(result['content'] ?? result, this.telemetry);
      if (resultText !== undefined) call.span.setAttribute(ATTR_GEN_AI_TOOL_CALL_RESULT, resultText);
    }
    if (call.method === 'initialize' && result !== undefined) this.#onInitializeResult(result, call.span);
    call.span.end();
    const metricAttributes: Attributes = {
      [ATTR_MCP_METHOD_NAME]: call.method,
      [ATTR_NETWORK_TRANSPORT]: this.kind === 'stdio' ? 'pipe' : 'tcp',
    };
    if (call.tool !== undefined) metricAttributes[ATTR_GEN_AI_TOOL_NAME] = call.tool;
    if (call.prompt !== undefined) metricAttributes[ATTR_GEN_AI_PROMPT_NAME] = call.prompt;
    if (errorType !== undefined) metricAttributes[ATTR_ERROR_TYPE] = errorType;
    if (this.#protocolVersion !== undefined) metricAttributes[ATTR_MCP_PROTOCOL_VERSION] = this.#protocolVersion;
    this.telemetry.operationDuration.record(seconds, metricAttributes);
    const claims: TokenClaims | undefined = call.presented?.claims;
    this.telemetry.emit(
      {
        ...this.#envelope(call.presented?.principal, undefined, call),
        kind: 'call',
        method: call.method.slice(0, 256),
        requestId: call.requestId,
        outcome,
        durationMs: seconds * 1000,
        authenticated: call.authenticated,
        ...(call.tool === undefined ? {} : { tool: call.tool }),
        ...(call.prompt === undefined ? {} : { prompt: call.prompt }),
        ...(call.resourceUri === undefined ? {} : { resourceUri: call.resourceUri }),
        ...(this.#protocolVersion === undefined ? {} : { protocolVersion: this.#protocolVersion }),
        ...(errorType === undefined ? {} : { errorType }),
        ...(claims === undefined ? {} : { tokenFingerprint: claims.fingerprint, scopes: claims.scopes }),
        ...(call.arguments === undefined ? {} : { arguments: call.arguments }),
        ...(resultText === undefined ? {} : { result: resultText }),
      },
      this.#serverRef,
      call.spanContext,
    );
    if (call.method === 'tools/list' && Array.isArray(result?.['tools'])) {
      this.#emitCatalog('tools/list', result['tools'] as unknown[], call.presented?.principal, call.spanContext);
    }
  }

  #onInitializeResult(result: Record<string, unknown>, span: Span): void {
    const info = result['serverInfo'] as Record<string, unknown> | undefined;
    const name = str(info?.['name']);
    if (name !== undefined) {
      const version = str(info?.['version']);
      this.#serverRef = {
        name: name.slice(0, 256),
        ...(version === undefined ? {} : { version: version.slice(0, 128) }),
      };
    }
    if (result['instructions'] !== undefined) this.#instructions = result['instructions'];
    const negotiated = str(result['protocolVersion']);
    if (negotiated !== undefined) {
      this.#protocolVersion = negotiated.slice(0, 64);
      span.setAttribute(ATTR_MCP_PROTOCOL_VERSION, this.#protocolVersion);
    }
  }

  /** `list_changed` carries no tools: ask the attachment for what the server now serves, when it can tell. */
  #onToolListChanged(): void {
    if (this.#readToolList === undefined) return;
    this.#readToolList(this.#sessionId).then(
      (tools) =>
        guard('list_changed catalog', () => {
          if (Array.isArray(tools))
            this.#emitCatalog('list-changed', tools as unknown[], this.#boundPrincipal, undefined);
        }),
      () => this.telemetry.untracked.add(1, { reason: 'catalog-unavailable' }),
    );
  }

  #emitCatalog(
    trigger: 'tools/list' | 'list-changed',
    tools: readonly unknown[],
    principal: Principal | undefined,
    ctx: Context | undefined,
  ): void {
    const snapshot = toolCatalogSnapshot(tools, this.#instructions);
    if (snapshot.omittedTools > 0) this.telemetry.untracked.add(snapshot.omittedTools, { reason: 'catalog-bound' });
    const { omittedTools, ...catalog } = snapshot;
    this.telemetry.emit(
      {
        ...this.#envelope(principal, undefined),
        kind: 'tool-catalog',
        trigger,
        ...catalog,
        ...(omittedTools > 0 ? { omittedTools } : {}),
      },
      this.#serverRef,
      ctx,
    );
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, call] of this.#pending) {
      this.#pending.delete(id);
      this.#finishCall(call, {
        id,
        error: { code: 'connection_closed', message: 'Connection closed before a response was sent.' },
      });
    }
    if (this.#sessionId === undefined) return;
    this.telemetry.sessionDuration.record((performance.now() - this.#sessionStartedAt) / 1000, {
      [ATTR_NETWORK_TRANSPORT]: this.kind === 'stdio' ? 'pipe' : 'tcp',
      ...(this.#protocolVersion === undefined ? {} : { [ATTR_MCP_PROTOCOL_VERSION]: this.#protocolVersion }),
    });
    this.telemetry.emit(
      { ...this.#envelope(this.#boundPrincipal, undefined), kind: 'session', action: 'closed' },
      this.#serverRef,
    );
  }

  #envelope(principal: Principal | undefined, http: InboundContext | undefined, call?: PendingCall) {
    const spanContext = call?.span.spanContext();
    const client: ClientIdentity = { ...this.#client };
    const address = http?.clientAddress ?? client.address;
    if (address !== undefined) client.address = address;
    return {
      time: call?.time ?? new Date().toISOString(),
      transport: this.kind,
      ...(this.#sessionId === undefined ? {} : { sessionId: this.#sessionId }),
      ...(principal === undefined ? {} : { principal }),
      ...(Object.keys(client).length === 0 ? {} : { client }),
      ...(spanContext === undefined ? {} : { traceId: spanContext.traceId, spanId: spanContext.spanId }),
    };
  }
}
