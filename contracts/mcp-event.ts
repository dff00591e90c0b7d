import { z } from 'zod';

/**
 * The normalized event contract: what the collector produces to `mcp.events.v1` and every detector consumes.
 * One discriminated union on `kind`. Objects are loose so that a newer producer's extra fields pass an older
 * consumer during a rolling upgrade; the generated JSON Schema and table columns list the known ones.
 */
export const MCP_EVENT_SCHEMA_VERSION = 1;

/** A keyed HMAC of a secret value, never the value: `hmac-sha256:<64 hex>`. */
export const Fingerprint = z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/, 'expected hmac-sha256:<64 hex digits>');

/** A SHA-256 over RFC 8785 canonical JSON: `sha256:<64 hex>`. */
export const ContentHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>');

const Timestamp = z.iso.datetime({ offset: true });

export const ServerIdentity = z.looseObject({
  /** `serverInfo.name` from the MCP initialize result. */
  name: z.string().min(1).max(256),
  version: z.string().max(128).optional(),
  /** OTel `service.instance.id`: one running process. */
  instanceId: z.string().max(256).optional(),
  /** The protected resource identifier the server was configured with (RFC 9728), when it has one. */
  resource: z.string().max(2048).optional(),
  host: z.string().max(256).optional(),
});

export const Principal = z.looseObject({
  /** `hmac-sha256` of issuer + subject unless the deployment opted into real ids. */
  id: z.string().min(1).max(512),
  pseudonymous: z.boolean(),
  issuer: z.string().max(2048).optional(),
});

export const ClientIdentity = z.looseObject({
  /** `clientInfo` from the MCP initialize request. */
  name: z.string().max(256).optional(),
  version: z.string().max(128).optional(),
  address: z.string().max(128).optional(),
  userAgent: z.string().max(512).optional(),
  /** Capability names the client declared (`initialize`, or each request's `_meta` from 2026-07-28), sorted. */
  capabilities: z.array(z.string().max(64)).max(32).optional(),
});

export const McpTransport = z.enum(['stdio', 'streamable-http', 'sse', 'other']);

/** Claim values of a token that was presented; the token itself never leaves the MCP process. */
export const TokenClaims = z.looseObject({
  fingerprint: Fingerprint,
  issuer: z.string().max(2048).optional(),
  audience: z.array(z.string().max(2048)).max(64).default([]),
  /** `azp`, else `client_id`. */
  authorizedParty: z.string().max(512).optional(),
  scopes: z.array(z.string().max(256)).max(256).default([]),
  /** RFC 8707 resource indicator, when the token carries one. */
  resource: z.string().max(2048).optional(),
  /** When the token expires: the verifier's `AuthInfo.expiresAt`, else the JWT's own `exp`. */
  expiresAt: Timestamp.optional(),
  /**
   * The JWT's own `exp`, whatever the verifier said: a caching or introspecting verifier can report a later
   * expiry (or none) for a token whose `exp` has passed. Absent when the token is not a JWT or has no `exp`.
   */
  jwtExpiresAt: Timestamp.optional(),
  issuedAt: Timestamp.optional(),
});

/** A credential-shaped value an outbound request carried, by where it was and its keyed fingerprint. */
export const OutboundCredential = z.looseObject({
  /** `header:<lower-case name>`, `query:<parameter name>` or `body` (the first bytes of the body, bounded). */
  location: z.string().min(1).max(256),
  fingerprint: Fingerprint,
});

/**
 * A secret found in captured content by the observer, on the raw value before it was scrubbed: only its
 * type, where it was and a keyed fingerprint travel. `type` is a `contracts/secret-catalog.ts` type, or
 * `credential-field` (a value under a credential name), `credential-assignment` (`API_KEY=…` in free text),
 * `known-credential` (a credential the process saw presented, in any encoded form; fingerprinted as the raw
 * credential, so it compares with `tokenFingerprint`).
 */
export const SecretFinding = z.looseObject({
  type: z.string().min(1).max(64),
  /** Path in the raw content: `arguments.path.to.key`, `result[0].text`, `structuredResult.key`, `error.message`. */
  location: z.string().max(512),
  fingerprint: Fingerprint,
});

const envelope = {
  schemaVersion: z.literal(MCP_EVENT_SCHEMA_VERSION),
  /** Unique per event and stable across retries (derived from trace/span or log record ids), for dedup. */
  eventId: z.string().min(1).max(256),
  /** When it happened at the MCP server (event time, not ingest time). */
  time: Timestamp,
  server: ServerIdentity,
  sessionId: z.string().max(1024).optional(),
  principal: Principal.optional(),
  client: ClientIdentity.optional(),
  transport: McpTransport.optional(),
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  spanId: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
};

export const CallOutcome = z.enum(['ok', 'error', 'tool-error']);

/** The Streamable HTTP request metadata headers (2026-07-28) as sent, next to the body they must mirror. */
export const McpRequestHeaders = z.looseObject({
  /** `Mcp-Method`. */
  method: z.string().max(256).optional(),
  /** `Mcp-Name`, Base64 sentinel decoded; a resource URI sanitized like `resourceUri`. */
  name: z.string().max(2048).optional(),
  /** `MCP-Protocol-Version`. */
  protocolVersion: z.string().max(64).optional(),
  /** Which headers disagree with the body (`method`, `params.name`/`params.uri`, `_meta` protocol version). */
  mismatch: z
    .array(z.enum(['method', 'name', 'protocolVersion']))
    .max(3)
    .optional(),
});

export const CallEvent = z.looseObject({
  ...envelope,
  kind: z.literal('call'),
  /** JSON-RPC method, e.g. `tools/call`. */
  method: z.string().min(1).max(256),
  tool: z.string().max(512).optional(),
  prompt: z.string().max(512).optional(),
  /** Sanitized: no query string, no userinfo. */
  resourceUri: z.string().max(2048).optional(),
  requestId: z.string().max(256).optional(),
  protocolVersion: z.string().max(64).optional(),
  outcome: CallOutcome,
  /** `tool_error`, or the JSON-RPC error code as a string. */
  errorType: z.string().max(128).optional(),
  durationMs: z.number().nonnegative(),
  /** Whether verified auth info was attached to the request. */
  authenticated: z.boolean().optional(),
  tokenFingerprint: Fingerprint.optional(),
  scopes: z.array(z.string().max(256)).max(256).optional(),
  /** The earliest expiry known of the presented token (verifier's or JWT's): a call after it used an expired token. */
  tokenExpiresAt: Timestamp.optional(),
  /** Opt-in, size-bounded and scrubbed JSON text of the tool arguments. */
  arguments: z.string().max(65_536).optional(),
  /**
   * Opt-in, size-bounded and scrubbed text of the result as the model reads it, with its real characters (not
   * JSON-escaped): the `text` of each text block and of each embedded text resource, one per line; any other
   * block as one bracketed line, `[<type> <mimeType> <uri>]`. A result without a `content` array is JSON text.
   */
  result: z.string().max(65_536).optional(),
  /** Opt-in, size-bounded and scrubbed JSON text of the result's `structuredContent`. */
  structuredResult: z.string().max(65_536).optional(),
  /** Secrets found in the raw arguments, result or error text before scrubbing (every one, up to the bound). */
  secretFindings: z.array(SecretFinding).max(64).optional(),
  /** The request carried its protocol version and client identity in `_meta` (2026-07-28 and later). */
  stateless: z.boolean().optional(),
  /** `resultType` of the result: `input_required` asks the client for input and a retry (2026-07-28). */
  resultType: z.enum(['complete', 'input_required']).optional(),
  mcpHeaders: McpRequestHeaders.optional(),
});

export const AuthOutcome = z.enum(['accepted', 'rejected', 'unverified-bearer']);

export const AuthEvent = z.looseObject({
  ...envelope,
  kind: z.literal('auth'),
  outcome: AuthOutcome,
  token: TokenClaims.optional(),
  /** Audience or resource equals the server's configured resource identifier. Absent when none is configured. */
  audienceMatchesServer: z.boolean().optional(),
  /** Why a token was rejected, as the verifier said it (no token material). */
  reason: z.string().max(1024).optional(),
});

export const SessionIdAssessment = z.looseObject({
  length: z.number().int().nonnegative(),
  charset: z.enum(['hex', 'base64url', 'alphanumeric', 'visible-ascii', 'other']),
  /** Shannon estimate over the id's characters, in bits for the whole id. */
  entropyBits: z.number().nonnegative(),
  /** Differs from the previous session id of this server by a small integer step. */
  sequential: z.boolean(),
});

export const SessionAction = z.enum(['created', 'closed', 'principal-mismatch']);

export const SessionEvent = z.looseObject({
  ...envelope,
  kind: z.literal('session'),
  action: SessionAction,
  idAssessment: SessionIdAssessment.optional(),
  /** For `principal-mismatch`: the principal the session was bound to at creation. */
  boundPrincipalId: z.string().max(512).optional(),
  boundClientAddress: z.string().max(128).optional(),
});

export const ToolDefinition = z.looseObject({
  name: z.string().min(1).max(512),
  title: z.string().max(1024).optional(),
  description: z.string().max(65_536).optional(),
  inputSchema: z.unknown().optional(),
  outputSchema: z.unknown().optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
  /** SHA-256 over the RFC 8785 canonical JSON of the definition as served. */
  hash: ContentHash,
  /** The definition was larger or deeper than the export bounds and parts were cut (`cut`); `hash` covers the whole. */
  truncated: z.boolean().optional(),
  /** Values nested deeper than the export or ingest limit were replaced by a marker; `hash` covers the whole. */
  flattened: z.boolean().optional(),
  /** Deepest nesting of the definition's objects and arrays as received; with `flattened`, a lower bound. */
  maxDepth: z.number().int().nonnegative().optional(),
  /** Deepest nesting of objects and arrays in the definition as served (the definition itself is 1). */
  definitionDepth: z.number().int().nonnegative().optional(),
  /** UTF-8 bytes of the definition's canonical JSON as served. */
  definitionBytes: z.number().int().nonnegative().optional(),
  /**
   * Parts not exported as served: `depth` parts were flattened into one string (`[…]` and their keys and
   * values, one per line), `size` parts were dropped (`[…]`, or the whole field).
   */
  cut: z
    .array(z.looseObject({ path: z.string().max(1024), reason: z.enum(['depth', 'size']) }))
    .max(16)
    .optional(),
  /** Number of cuts when more than `cut` lists. */
  cutCount: z.number().int().nonnegative().optional(),
});

export const CatalogTrigger = z.enum(['tools/list', 'list-changed']);

export const ToolCatalogEvent = z.looseObject({
  ...envelope,
  kind: z.literal('tool-catalog'),
  trigger: CatalogTrigger,
  tools: z.array(ToolDefinition).max(4096),
  /** Hash over the canonical list of tool hashes, sorted by name. */
  listHash: ContentHash,
  instructions: z.string().max(65_536).optional(),
  instructionsHash: ContentHash.optional(),
  /** The protocol version the list was served under (from 2026-07-28 lists must not vary per connection). */
  protocolVersion: z.string().max(64).optional(),
});

export const OutboundRequestEvent = z.looseObject({
  ...envelope,
  kind: z.literal('outbound-request'),
  destinationHost: z.string().min(1).max(256),
  method: z.string().max(16).optional(),
  /** The bearer token the server sent, as a fingerprint keyed like inbound tokens so they can be compared. */
  tokenFingerprint: Fingerprint.optional(),
  /**
   * Every header value, query parameter value and bounded body token of the request, fingerprinted like
   * inbound tokens: a token passed through in `X-Api-Key` or `?access_token=` matches as well as a bearer.
   */
  credentialFingerprints: z.array(OutboundCredential).max(64).optional(),
});

export const EnforcementAction = z.enum(['pinned', 'blocked', 'approved']);

/** Why: a first use pinned it, its definition drifted from the pin, content rules flagged it, the pin store could not be read (fail-closed), or a user approved it. */
export const EnforcementReason = z.enum(['first-use', 'drift', 'flagged', 'pin-store-unreadable', 'user-approval']);

/** A decision of the gateway's optional enforcement (`mcpwatch proxy --enforce`) about one tool. */
export const EnforcementEvent = z.looseObject({
  ...envelope,
  kind: z.literal('enforcement'),
  action: EnforcementAction,
  reason: EnforcementReason,
  tool: z.string().min(1).max(512),
  /** Hash of the definition the server serves now. */
  definitionHash: ContentHash.optional(),
  /** Hash the tool was pinned at before this decision. */
  pinnedHash: ContentHash.optional(),
  /** Content-rule signals that flagged the definition (pattern signal names). */
  signals: z.array(z.string().max(64)).max(32).optional(),
  /** Where a block took effect: withheld from a `tools/list` response, or a `tools/call` answered with an error. */
  appliedTo: z.enum(['tools/list', 'tools/call']).optional(),
});

/** A field an elicitation form asks the user to fill in (from `requestedSchema.properties`), bounded. */
export const RequestedField = z.looseObject({
  name: z.string().max(256),
  type: z.string().max(64).optional(),
  format: z.string().max(64).optional(),
  title: z.string().max(512).optional(),
  description: z.string().max(1024).optional(),
});

export const InputRequestDelivery = z.enum(['input-required', 'server-request']);

/**
 * The server asks the client for input: elicitation (a form or a URL for the user), sampling or roots. From
 * 2026-07-28 inside an `InputRequiredResult` answering a client request; before, as the server's own request.
 */
export const InputRequestEvent = z.looseObject({
  ...envelope,
  kind: z.literal('input-request'),
  delivery: InputRequestDelivery,
  /** `elicitation/create`, `sampling/createMessage`, `roots/list`, or what else the server sent. */
  inputMethod: z.string().min(1).max(256),
  /** The key of this request in `inputRequests` (input-required) or the server's JSON-RPC id. */
  inputKey: z.string().max(256).optional(),
  /** The client request the server answered with `input_required`, and its target. */
  method: z.string().max(256).optional(),
  requestId: z.string().max(256).optional(),
  tool: z.string().max(512).optional(),
  prompt: z.string().max(512).optional(),
  resourceUri: z.string().max(2048).optional(),
  tokenFingerprint: Fingerprint.optional(),
  elicitationMode: z.enum(['form', 'url']).optional(),
  /** What the user is shown, bounded and scrubbed. */
  message: z.string().max(4096).optional(),
  requestedFields: z.array(RequestedField).max(64).optional(),
  /** URL mode: where the user is sent, without userinfo, query or fragment. */
  url: z.string().max(2048).optional(),
  urlHost: z.string().max(256).optional(),
});

export const ClassifierBackend = z.enum(['prompt-shields', 'openai-judge']);

/** What was classified: a tool's definition, the server's instructions, or a tool call's result. */
export const ClassificationSubject = z.enum(['tool-definition', 'server-instructions', 'tool-result']);

/** What a judge may name as the kind of attack; anything else it says is refused, not passed on. */
export const ClassificationCategory = z.enum([
  'tool-poisoning',
  'indirect-prompt-injection',
  'data-exfiltration',
  'jailbreak',
  'other',
  'none',
]);

/**
 * A classifier backend's verdict on content of an earlier event, written to the events log by the detectors'
 * classifier stage (`detectors/classifier/`), never by an instrumentation: the collector does not accept this
 * kind. It carries the envelope of the event whose content was classified, so it is keyed and attributed like
 * it, and a replay of the log gives the same alerts without asking the classifier again.
 */
export const ClassificationEvent = z.looseObject({
  ...envelope,
  kind: z.literal('classification'),
  backend: ClassifierBackend,
  subject: ClassificationSubject,
  /** The event whose content was classified. */
  sourceEventId: z.string().min(1).max(256),
  /** The tool the definition or the result belongs to. */
  tool: z.string().max(512).optional(),
  /** SHA-256 of the text as the classifier was given it (after any cut); the cache key. */
  contentHash: ContentHash,
  attackDetected: z.boolean(),
  /** The judge's confidence in its verdict, 0 to 1; Prompt Shields gives none. */
  confidence: z.number().min(0).max(1).optional(),
  category: ClassificationCategory.optional(),
  /** The judge's one-line reason, bounded and stripped of control characters: text a model wrote about attacker text. */
  rationale: z.string().max(280).optional(),
  /** The judge's model name as configured. */
  model: z.string().max(256).optional(),
  /** Characters of the content before any cut. */
  contentChars: z.number().int().nonnegative(),
  /** The content was longer than `maxContentChars`: its head and tail were sent with a note of the cut between. */
  truncated: z.boolean().optional(),
  /** The verdict came from the stage's cache (the same content was classified before), not from a new request. */
  cached: z.boolean().optional(),
  /** When the verdict was given (the event's `time` is its source's). */
  classifiedAt: Timestamp,
});

export const McpEvent = z.discriminatedUnion('kind', [
  CallEvent,
  AuthEvent,
  SessionEvent,
  ToolCatalogEvent,
  OutboundRequestEvent,
  EnforcementEvent,
  InputRequestEvent,
  ClassificationEvent,
]);

export type ServerIdentity = z.infer<typeof ServerIdentity>;
export type Principal = z.infer<typeof Principal>;
export type ClientIdentity = z.infer<typeof ClientIdentity>;
export type McpTransport = z.infer<typeof McpTransport>;
export type TokenClaims = z.infer<typeof TokenClaims>;
export type SecretFinding = z.infer<typeof SecretFinding>;
export type CallEvent = z.infer<typeof CallEvent>;
export type AuthEvent = z.infer<typeof AuthEvent>;
export type SessionEvent = z.infer<typeof SessionEvent>;
export type SessionIdAssessment = z.infer<typeof SessionIdAssessment>;
export type ToolDefinition = z.infer<typeof ToolDefinition>;
export type ToolCatalogEvent = z.infer<typeof ToolCatalogEvent>;
export type OutboundRequestEvent = z.infer<typeof OutboundRequestEvent>;
export type EnforcementEvent = z.infer<typeof EnforcementEvent>;
export type McpRequestHeaders = z.infer<typeof McpRequestHeaders>;
export type RequestedField = z.infer<typeof RequestedField>;
export type InputRequestEvent = z.infer<typeof InputRequestEvent>;
export type OutboundCredential = z.infer<typeof OutboundCredential>;
export type ClassificationEvent = z.infer<typeof ClassificationEvent>;
export type ClassifierBackend = z.infer<typeof ClassifierBackend>;
export type ClassificationSubject = z.infer<typeof ClassificationSubject>;
export type ClassificationCategory = z.infer<typeof ClassificationCategory>;
export type McpEvent = z.infer<typeof McpEvent>;
export type McpEventKind = McpEvent['kind'];

/**
 * The Kafka key of an event: its session, else its principal, else its server, so that one session's events
 * keep their order on one partition. Tool catalogs are the exception: they are keyed by server, so that every
 * definition a server serves, to any session, reaches one detector in order (drift across sessions is the
 * rug pull). A classification is keyed like the event it classified: by server for definitions and instructions.
 * Prefixed so that a session id can never collide with a principal id.
 */
export function partitionKeyOf(event: McpEvent): string {
  if (event.kind === 'tool-catalog') return `server:${event.server.name}`;
  if (event.kind === 'classification' && event.subject !== 'tool-result') return `server:${event.server.name}`;
  if (event.sessionId !== undefined) return `session:${event.sessionId}`;
  if (event.principal !== undefined) return `principal:${event.principal.id}`;
  return `server:${event.server.name}`;
}
