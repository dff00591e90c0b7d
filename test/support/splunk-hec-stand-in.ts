/**
 * A local stand-in of the Splunk HTTP Event Collector with indexer acknowledgement, for tests and benchmarks. It
 * speaks the documented wire protocol: `POST /services/collector/event` with `Authorization: Splunk <token>`,
 * optional `Content-Encoding: gzip`, a body of concatenated JSON event objects (`event` required, `time` in epoch
 * seconds), a request channel in `X-Splunk-Request-Channel` (required with acknowledgement), an answer of
 * `{"text":"Success","code":0,"ackId":N}` with ack ids counted per channel from 0; and
 * `POST /services/collector/ack` with `{"acks":[ids]}` answering `{"acks":{"id":bool}}`, where an id reads true
 * once its events are indexed and is forgotten after it was reported true. Errors carry HEC's codes (2 token
 * required, 3 invalid authorization, 4 invalid token, 5 no data, 6 invalid data format, 8 internal server error,
 * 9 server busy, 10 data channel missing, 11 invalid data channel, 12 event field required, 13 event field blank,
 * 14 ACK is disabled). A token without acknowledgement (`ack: false`) needs no channel, answers events without an
 * `ackId` and refuses ack queries. HTTP on loopback, or HTTPS with a throwaway CA.
 *
 * Scripted faults stand for what a collector or the network does: statuses, resets, a request whose events are
 * indexed but never answered, and one answered with an ack id whose events are lost before indexing.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { generateCertificates } from './logs-ingestion-stand-in.ts';

const gunzipAsync = promisify(gunzip);

export const HEC_STAND_IN_TOKEN = '00000000-0000-4000-8000-00000000c0de';

/** One scripted answer to the next events request. */
export type HecFault =
  /** Handled normally (to place a later fault on a given request). */
  | { kind: 'pass' }
  | { kind: 'status'; status: 400 | 401 | 403 | 404 | 408 | 429 | 500 | 502 | 503; retryAfterSeconds?: number }
  /** Destroys the connection without an answer, after reading the request. */
  | { kind: 'reset' }
  /** Indexes the events and never answers: the sender cannot know they arrived. */
  | { kind: 'index-then-hang' }
  /** Answers an ack id, but the events are lost before indexing: the ack never turns true. */
  | { kind: 'lose-before-index' }
  /** Holds the events this long before indexing them (the ack reads false meanwhile). */
  | { kind: 'slow-index'; ms: number };

export interface HecEvent {
  event: unknown;
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  channel: string;
}

export interface HecRequestRecord {
  path: string;
  status: number;
  events: number;
  gzip: boolean;
}

export interface SplunkHecStandIn {
  /** `http(s)://127.0.0.1:<port>`: the collector's base URL. */
  readonly url: string;
  /** PEM of the CA that signed the server certificate (HTTPS only). */
  readonly caPem: string | undefined;
  /** Indexed events in indexing order. */
  events(): HecEvent[];
  readonly requests: readonly HecRequestRecord[];
  /** Queues faults; each events request consumes the next one. */
  script(...faults: HecFault[]): void;
  close(): Promise<void>;
}

export interface HecStandInOptions {
  token?: string;
  tls?: boolean;
  /** HEC's `max_content_length` (decompressed); 413 beyond. */
  maxContentLength?: number;
  /** Indexer acknowledgement on the token (`useACK`); on by default. */
  ack?: boolean;
}

interface Channel {
  nextAckId: number;
  /** Ack id → indexed. An id leaves the map once reported true. */
  acks: Map<number, boolean>;
}

function answer(response: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Concatenated JSON objects, with or without whitespace between them, as HEC accepts them. */
export function splitConcatenatedJson(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') {
      if (depth === 0) start = index;
      depth += 1;
    } else if (char === '}') {
      depth -= 1;
      if (depth === 0) values.push(JSON.parse(text.slice(start, index + 1)));
      if (depth < 0) throw new SyntaxError('unbalanced }');
    } else if (depth === 0 && !/\s/.test(char!)) throw new SyntaxError(`unexpected ${char} between events`);
  }
  if (depth !== 0 || inString) throw new SyntaxError('truncated event');
  return values;
}

export async function startSplunkHecStandIn(options: HecStandInOptions = {}): Promise<SplunkHecStandIn> {
  const token = options.token ?? HEC_STAND_IN_TOKEN;
  const maxContentLength = options.maxContentLength ?? 1_000_000;
  const indexed: HecEvent[] = [];
  const requests: HecRequestRecord[] = [];
  const faults: HecFault[] = [];
  const channels = new Map<string, Channel>();
  const timers = new Set<NodeJS.Timeout>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname.replace(/\/$/, '');
    const gzipped = request.headers['content-encoding'] === 'gzip';
    const record: HecRequestRecord = { path, status: 200, events: 0, gzip: gzipped };
    requests.push(record);
    const reply = (status: number, body: object, headers?: Record<string, string>): void => {
      record.status = status;
      answer(response, status, body, headers);
    };

    const authorization = request.headers.authorization;
    if (authorization === undefined) return reply(401, { text: 'Token is required', code: 2 });
    const [scheme, presented] = authorization.split(' ');
    if (scheme !== 'Splunk' || presented === undefined) return reply(401, { text: 'Invalid authorization', code: 3 });
    if (request.method !== 'POST') return reply(405, { text: 'Method not allowed', code: 0 });

    const header = request.headers['x-splunk-request-channel'];
    const ack = options.ack ?? true;
    // Without acknowledgement a channel is optional; events sent without one share the token's default.
    const channelId = typeof header === 'string' && header !== '' ? header : ack ? undefined : 'default';
    if (channelId === undefined) return reply(400, { text: 'Data channel is missing', code: 10 });
    if (channelId !== 'default' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(channelId)) {
      return reply(400, { text: 'Invalid data channel', code: 11 });
    }

    if (path === '/services/collector/ack') {
      if (presented !== token) return reply(403, { text: 'Invalid token', code: 4 });
      if (!ack) return reply(400, { text: 'ACK is disabled', code: 14 });
      const channel = channels.get(channelId);
      let asked: unknown;
      try {
        asked = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { acks?: unknown }).acks;
      } catch {
        return reply(400, { text: 'Invalid data format', code: 6 });
      }
      if (!Array.isArray(asked) || !asked.every((id) => Number.isInteger(id))) {
        return reply(400, { text: 'Invalid data format', code: 6 });
      }
      const acks: Record<string, boolean> = {};
      for (const id of asked as number[]) {
        const done = channel?.acks.get(id) === true;
        acks[String(id)] = done;
        if (done) channel.acks.delete(id);
      }
      return reply(200, { acks });
    }
    if (path !== '/services/collector/event' && path !== '/services/collector') {
      return reply(404, { text: 'The requested URL was not found on this server.', code: 404 });
    }

    const fault = faults.shift();
    if (fault?.kind === 'status') {
      const codes: Record<number, { text: string; code: number }> = {
        400: { text: 'Invalid data format', code: 6 },
        401: { text: 'Invalid authorization', code: 3 },
        403: { text: 'Invalid token', code: 4 },
        404: { text: 'The requested URL was not found on this server.', code: 404 },
        // Not HEC's own: a proxy or load balancer in front of it timing the upload out.
        408: { text: 'Request Timeout', code: 408 },
        429: { text: 'Too many requests', code: 9 },
        500: { text: 'Internal server error', code: 8 },
        502: { text: 'Bad gateway', code: 8 },
        503: { text: 'Server is busy', code: 9 },
      };
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      return reply(fault.status, codes[fault.status]!, headers);
    }
    if (fault?.kind === 'reset') {
      record.status = 0;
      request.socket.destroy();
      return;
    }
    if (presented !== token) return reply(403, { text: 'Invalid token', code: 4 });

    let text: string;
    try {
      const raw = Buffer.concat(chunks);
      text = (gzipped ? await gunzipAsync(raw, { maxOutputLength: maxContentLength + 1 }) : raw).toString('utf8');
    } catch (error) {
      // Inflating stops one byte past the limit: that body is too large, not malformed.
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return reply(413, { text: 'Content too large', code: 27 });
      }
      return reply(400, { text: 'Invalid data format', code: 6 });
    }
    if (Buffer.byteLength(text) > maxContentLength) return reply(413, { text: 'Content too large', code: 27 });
    let values: unknown[];
    try {
      values = splitConcatenatedJson(text);
    } catch {
      return reply(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 });
    }
    if (values.length === 0) return reply(400, { text: 'No data', code: 5 });
    const events: HecEvent[] = [];
    for (const [number, value] of values.entries()) {
      const event = value as Partial<HecEvent> & Record<string, unknown>;
      if (event.event === undefined || event.event === null) {
        return reply(400, { text: 'Event field is required', code: 12, 'invalid-event-number': number });
      }
      if (event.event === '') {
        return reply(400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': number });
      }
      if (event.time !== undefined && typeof event.time !== 'number') {
        return reply(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': number });
      }
      events.push({ ...(event as HecEvent), channel: channelId });
    }
    record.events = events.length;

    if (!ack) {
      indexed.push(...events);
      return reply(200, { text: 'Success', code: 0 });
    }
    let channel = channels.get(channelId);
    if (channel === undefined) channels.set(channelId, (channel = { nextAckId: 0, acks: new Map() }));
    const ackId = channel.nextAckId++;
    channel.acks.set(ackId, false);
    const index = (): void => {
      indexed.push(...events);
      channel.acks.set(ackId, true);
    };
    if (fault?.kind === 'index-then-hang') {
      index();
      record.status = 0;
      return; // never answered; the socket stays open until the client gives up or dies
    }
    if (fault?.kind === 'slow-index') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        index();
      }, fault.ms);
      timers.add(timer);
    } else if (fault?.kind !== 'lose-before-index') index();
    return reply(200, { text: 'Success', code: 0, ackId });
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch(() => {
      if (!response.headersSent) answer(response, 500, { text: 'Internal server error', code: 8 });
    });
  };
  let server: Server;
  let caPem: string | undefined;
  if (options.tls === true) {
    const certificates = await generateCertificates();
    caPem = certificates.caPem;
    server = createHttpsServer({ key: certificates.keyPem, cert: certificates.certPem }, listener);
  } else {
    server = createHttpServer(listener);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`,
    caPem,
    events: () => [...indexed],
    requests,
    script: (...next) => faults.push(...next),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
