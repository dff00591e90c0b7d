/**
 * The OTLP/HTTP receiver (OTLP specification, "OTLP/HTTP"): `POST /v1/traces` and `/v1/logs`, binary protobuf
 * (`application/x-protobuf`) or JSON (`application/json`), optionally gzip-compressed. The response uses the
 * request's encoding; records that decode but cannot be normalized are dead-lettered and reported as
 * partial success. Errors carry a `google.rpc.Status` with a message naming the offending field; 429/503
 * carry `Retry-After`, which OTLP exporters honour. Also serves `/healthz`, `/readyz` and `/metrics`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Logger } from 'pino';
import { isMcpwatchError } from '../../contracts/errors.ts';
import type { CollectorConfig } from '../config.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { decodeLogs, decodeTraces, type OtlpEncoding } from '../otlp/decode.ts';
import { OtlpProto } from '../otlp/proto.ts';
import type { EventProducer } from '../sinks/event-producer.ts';
import { normalizeLogs, normalizeTraces, type NormalizedBatch } from '../transforms/normalize.ts';

const gunzipAsync = promisify(gunzip);

export interface OtlpHttpReceiverOptions {
  limits: CollectorConfig['limits'];
  /** Accepted bearer tokens; empty means no authentication. */
  tokens: readonly string[];
  producer: EventProducer;
  metrics: CollectorMetrics;
  logger: Logger;
  /** Whether the event log is reachable, for `/readyz`. */
  ready: () => Promise<boolean>;
  /** True once shutdown began: new exports are answered 503. */
  closing: () => boolean;
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

interface SignalRoute {
  signal: 'span' | 'log';
  decodeAndNormalize: (
    body: Uint8Array,
    encoding: OtlpEncoding,
    limits: CollectorConfig['limits'],
  ) => {
    recordCount: number;
    batch: NormalizedBatch;
  };
  response: (rejected: number, errorMessage: string) => Record<string, unknown>;
  responseType: typeof OtlpProto.ExportTraceServiceResponse;
}

const ROUTES: Record<string, SignalRoute> = {
  '/v1/traces': {
    signal: 'span',
    decodeAndNormalize: (body, encoding, limits) => {
      const traces = decodeTraces(body, encoding, limits);
      return { recordCount: traces.recordCount, batch: normalizeTraces(traces) };
    },
    response: (rejected, errorMessage) => ({ partialSuccess: { rejectedSpans: String(rejected), errorMessage } }),
    responseType: OtlpProto.ExportTraceServiceResponse,
  },
  '/v1/logs': {
    signal: 'log',
    decodeAndNormalize: (body, encoding, limits) => {
      const logs = decodeLogs(body, encoding, limits);
      return { recordCount: logs.recordCount, batch: normalizeLogs(logs) };
    },
    response: (rejected, errorMessage) => ({ partialSuccess: { rejectedLogRecords: String(rejected), errorMessage } }),
    responseType: OtlpProto.ExportLogsServiceResponse,
  },
};

const CONTENT_TYPES: Record<string, OtlpEncoding> = {
  'application/x-protobuf': 'protobuf',
  'application/json': 'json',
};

/** google.rpc.Code values for the Status body of error responses. */
const RPC_CODE = { 400: 3, 401: 16, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14 } as const;
type ErrorStatus = keyof typeof RPC_CODE;

class HttpError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly reason: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export function createOtlpHttpListener(options: OtlpHttpReceiverOptions): RequestListener {
  const tokenDigests = options.tokens.map(digest);
  const authorized = (request: IncomingMessage): boolean => {
    if (tokenDigests.length === 0) return true;
    const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) return false;
    const presented = digest(match[1]);
    return tokenDigests.some((accepted) => timingSafeEqual(accepted, presented));
  };

  const handle = async (
    request: IncomingMessage,
    response: ServerResponse,
    encoding: OtlpEncoding | undefined,
  ): Promise<void> => {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    if (path === '/healthz') return void send(response, 200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      const ready = !options.closing() && (await options.ready());
      return void send(response, ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'not ready\n');
    }
    if (path === '/metrics') {
      if (!authorized(request)) throw unauthorized();
      return void send(response, 200, options.metrics.registry.contentType, await options.metrics.registry.metrics());
    }
    const route = ROUTES[path];
    if (route === undefined)
      throw new HttpError(404, 'not-found', `No OTLP endpoint at ${path}; use /v1/traces or /v1/logs.`);
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      throw new HttpError(
        405,
        'method-not-allowed',
        `${request.method ?? '?'} is not allowed; OTLP exports are POSTed.`,
      );
    }
    if (!authorized(request)) throw unauthorized();
    if (encoding === undefined) {
      throw new HttpError(
        415,
        'unsupported-media-type',
        `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; use application/x-protobuf or application/json.`,
      );
    }
    const contentEncoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding !== 'identity' && contentEncoding !== 'gzip') {
      throw new HttpError(
        415,
        'unsupported-encoding',
        `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported; use gzip or none.`,
      );
    }
    if (options.closing()) throw new HttpError(503, 'shutting-down', 'The collector is shutting down; retry later.', 1);
    const raw = await readBody(request, options.limits.maxBodyBytes);
    const body = contentEncoding === 'gzip' ? await decompress(raw, options.limits.maxDecompressedBytes) : raw;
    let decoded;
    try {
      decoded = route.decodeAndNormalize(body, encoding, options.limits);
    } catch (error) {
      if (isMcpwatchError(error, 'INPUT_INVALID')) throw new HttpError(400, 'malformed', error.message);
      if (isMcpwatchError(error, 'LIMIT_EXCEEDED')) throw new HttpError(400, 'limit-exceeded', error.message);
      throw error;
    }
    const { recordCount, batch } = decoded;
    options.metrics.received.inc({ signal: route.signal, source: 'otlp-http' }, recordCount);
    for (const [reason, count] of Object.entries(batch.skipped)) {
      options.metrics.skipped.inc({ signal: route.signal, reason }, count);
    }
    try {
      await options.producer.deliver(batch);
    } catch (error) {
      if (isMcpwatchError(error, 'LIMIT_EXCEEDED')) {
        throw new HttpError(429, 'buffer-full', error.message, options.producer.retryAfterSeconds);
      }
      if (isMcpwatchError(error, 'TRANSPORT_FAILED') || isMcpwatchError(error, 'CLOSED')) {
        throw new HttpError(503, 'kafka-unavailable', error.message, options.producer.retryAfterSeconds);
      }
      throw error;
    }
    const rejected = batch.deadLetters.length;
    const first = batch.deadLetters[0];
    const errorMessage =
      first === undefined
        ? ''
        : `${rejected} ${route.signal === 'span' ? 'spans' : 'log records'} could not be normalized and were dead-lettered; first: ${first.reason}`;
    if (first !== undefined)
      options.logger.warn({ signal: route.signal, rejected, reason: first.reason }, 'Records dead-lettered.');
    const message = rejected > 0 ? route.response(rejected, errorMessage) : {};
    if (encoding === 'protobuf') {
      send(
        response,
        200,
        'application/x-protobuf',
        route.responseType.encode(route.responseType.fromObject(message)).finish(),
      );
    } else {
      send(response, 200, 'application/json', JSON.stringify(message));
    }
  };

  return (request, response) => {
    const encoding = CONTENT_TYPES[mediaType(request.headers['content-type'])];
    handle(request, response, encoding).catch((error: unknown) => {
      if (error instanceof HttpError) {
        options.metrics.rejected.inc({ reason: error.reason });
        if (error.status >= 500 || error.status === 429) options.logger.debug({ reason: error.reason }, error.message);
        sendStatus(request, response, error, encoding ?? 'json');
        return;
      }
      options.metrics.rejected.inc({ reason: 'internal' });
      options.logger.error({ err: error }, 'OTLP request failed unexpectedly.');
      sendStatus(
        request,
        response,
        new HttpError(500, 'internal', 'Internal error; see the collector log.'),
        encoding ?? 'json',
      );
    });
  };
}

function unauthorized(): HttpError {
  return new HttpError(401, 'unauthorized', 'A valid bearer token is required.');
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** Reads the body, refusing more than `maxBytes` by `Content-Length` up front or by counting. */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge('body', declared, maxBytes);
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) throw tooLarge('body', received, maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

async function decompress(body: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, 'too-large', `Decompressed body exceeds the limit of ${maxBytes} bytes.`);
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(400, 'malformed', `gzip body cannot be decompressed: ${reason}`);
  }
}

function tooLarge(what: string, bytes: number, maxBytes: number): HttpError {
  return new HttpError(413, 'too-large', `Request ${what} of ${bytes}+ bytes exceeds the limit of ${maxBytes} bytes.`);
}

function sendStatus(
  request: IncomingMessage,
  response: ServerResponse,
  error: HttpError,
  encoding: OtlpEncoding,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (error.retryAfterSeconds !== undefined) response.setHeader('Retry-After', String(error.retryAfterSeconds));
  if (error.status === 401) response.setHeader('WWW-Authenticate', 'Bearer realm="mcpwatch"');
  if (!request.complete) {
    // The rest of the body is not read: close the connection once the answer is out.
    response.setHeader('Connection', 'close');
    response.on('finish', () => request.destroy());
  }
  const status = { code: RPC_CODE[error.status], message: error.message };
  if (encoding === 'protobuf') {
    send(
      response,
      error.status,
      'application/x-protobuf',
      OtlpProto.RpcStatus.encode(OtlpProto.RpcStatus.fromObject(status)).finish(),
    );
  } else {
    send(response, error.status, 'application/json', JSON.stringify(status));
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}
