import type { InputRequestEvent, Principal, RequestedField } from '../contracts/mcp-event.ts';
import type { Connection } from './connection.ts';
import { str } from './connection.ts';
import type { PendingCall } from './calls.ts';
import type { JsonRpcMessage } from './types.ts';

/** Input requests recorded per `InputRequiredResult` (the map is server-controlled). */
const MAX_INPUT_REQUESTS = 16;
const MAX_FIELDS = 64;

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** `requestedSchema.properties` of a form elicitation, as names, types and the text shown for each. */
function requestedFieldsOf(schema: unknown): RequestedField[] | undefined {
  const properties = record(record(schema)?.['properties']);
  if (properties === undefined) return undefined;
  const fields: RequestedField[] = [];
  for (const name in properties) {
    if (fields.length >= MAX_FIELDS) break;
    const property = record(properties[name]);
    const type = str(property?.['type']);
    const format = str(property?.['format']);
    const title = str(property?.['title']);
    const description = str(property?.['description']);
    fields.push({
      name: name.slice(0, 256),
      ...(type === undefined ? {} : { type: type.slice(0, 64) }),
      ...(format === undefined ? {} : { format: format.slice(0, 64) }),
      ...(title === undefined ? {} : { title: title.slice(0, 512) }),
      ...(description === undefined ? {} : { description: description.slice(0, 1024) }),
    });
  }
  return fields;
}

/** A URL without userinfo, query or fragment, and its host; undefined when it does not parse. */
function urlOf(value: string): { url: string; host: string } | undefined {
  try {
    const url = new URL(value);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return { url: url.href.slice(0, 2048), host: url.hostname.slice(0, 256) };
  } catch {
    return undefined;
  }
}

type InputRequestFields = Omit<
  InputRequestEvent,
  'schemaVersion' | 'eventId' | 'server' | 'time' | 'kind' | 'delivery' | 'inputMethod'
>;

/**
 * What the server asks of the client and its user: every input request of an `InputRequiredResult`
 * (2026-07-28 multi round-trip requests) and every server-to-client request of the earlier protocol versions
 * (`elicitation/create`, `sampling/createMessage`, `roots/list`), one `input-request` event each.
 */
export class InputRequestTracker {
  constructor(private readonly connection: Connection) {}

  /** A result of `call` with `resultType: input_required`. */
  onInputRequired(call: PendingCall, result: Record<string, unknown>): void {
    const requests = record(result['inputRequests']);
    if (requests === undefined) return;
    let seen = 0;
    for (const key in requests) {
      if (seen++ >= MAX_INPUT_REQUESTS) {
        this.connection.telemetry.untracked.add(1, { reason: 'input-request-bound' });
        break;
      }
      const request = record(requests[key]);
      const method = str(request?.['method']);
      if (method === undefined) continue;
      this.#emit('input-required', method, record(request?.['params']) ?? {}, call.presented?.principal, {
        inputKey: key.slice(0, 256),
        method: call.method.slice(0, 256),
        requestId: call.requestId,
        ...(call.tool === undefined ? {} : { tool: call.tool }),
        ...(call.prompt === undefined ? {} : { prompt: call.prompt }),
        ...(call.resourceUri === undefined ? {} : { resourceUri: call.resourceUri }),
        ...(call.presented === undefined ? {} : { tokenFingerprint: call.presented.claims.fingerprint }),
      });
    }
  }

  /** An outbound JSON-RPC request of the server (protocol versions before 2026-07-28). */
  onServerRequest(message: JsonRpcMessage, method: string): void {
    if (method !== 'elicitation/create' && method !== 'sampling/createMessage' && method !== 'roots/list') return;
    const params = typeof message.params === 'object' && message.params !== null ? message.params : {};
    this.#emit('server-request', method, params, this.connection.boundPrincipal, {
      ...(message.id === undefined ? {} : { inputKey: String(message.id).slice(0, 256) }),
    });
  }

  #emit(
    delivery: InputRequestEvent['delivery'],
    inputMethod: string,
    params: Record<string, unknown>,
    principal: Principal | undefined,
    fields: InputRequestFields,
  ): void {
    const { telemetry } = this.connection;
    const event: InputRequestFields = { ...fields };
    if (inputMethod === 'elicitation/create') {
      const mode = str(params['mode']) === 'url' ? 'url' : 'form';
      event.elicitationMode = mode;
      const message = str(params['message']);
      if (message !== undefined) event.message = telemetry.secrets.scrub(message).slice(0, 4096);
      if (mode === 'form') {
        const requested = requestedFieldsOf(params['requestedSchema']);
        if (requested !== undefined) event.requestedFields = requested;
      } else {
        const target = str(params['url']);
        const parsed = target === undefined ? undefined : urlOf(target);
        if (parsed !== undefined) {
          event.url = parsed.url;
          event.urlHost = parsed.host;
        }
      }
    }
    telemetry.emit(
      {
        ...this.connection.envelope(principal, undefined),
        kind: 'input-request',
        delivery,
        inputMethod: inputMethod.slice(0, 256),
        ...event,
      },
      this.connection.server,
    );
  }
}
