/**
 * The OTLP/HTTP receiver (OTLP specification, "OTLP/HTTP"): `POST /v1/traces` and `/v1/logs`, binary protobuf
 * (`application/x-protobuf`) or JSON (`application/json`), optionally gzip-compressed. The response uses the
 * request's encoding; records that decode but cannot be normalized are dead-lettered and reported as
 * partial success. Errors carry a `google.rpc.Status` with a message naming the offending field; 429/503
 * carry `Retry-After`, which OTLP exporters honour. Also serves `/metrics`. Host, Origin, the bearer token,
 * `/healthz` and `/readyz` are the HTTP server helper's (`transport/http-server.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Logger } from 'pino';
import { isMcpwatchError } from '../../contracts/errors.ts';
import type { CollectorConfig } from '../config.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { decodeLogs, decodeTraces, type OtlpEncoding } from '../otlp/decode.ts';
import { OtlpProto } from '../otlp/proto.ts';
import type { IngestPipeline, PipelineResult } from '../pipeline.ts';

export interface OtlpHttpReceiverOptions {
  limits: CollectorConfig['limits'];
  pipeline: IngestPipeline;
  metrics: CollectorMetrics;
  logger: Logger;
  /** Seconds a client refused for back-pressure should wait. */
  retryAfterSeconds: () => number;
  /** True once shutdown began: new exports are answered 503. */
  closing: () => boolean;
}

/** Answers every path but `/healthz` and `/readyz` (the HTTP server helper's), after Host, Origin and token. */
export type OtlpHttpHandler = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

interface SignalRoute {
  signal: 'span' | 'log';
  submit: (
    pipeline: IngestPipeline,
    body: Uint8Array,
    encoding: OtlpEncoding,
    limits: CollectorConfig['limits'],
  ) => Promise<PipelineResult>;
  response: (rejected: number, errorMessage: string) => Record<string, unknown>;
  responseType: typeof OtlpProto.ExportTraceServiceResponse;
}

const ROUTES: Record<string, SignalRoute> = {
  '/v1/traces': {
    signal: 'span',
    submit: async (pipeline, body, encoding, limits) =>
      pipeline.submit({ signal: 'span', source: 'otlp-http', exports: [await decodeTraces(body, encoding, limits)] }),
    response: (rejected, errorMessage) => ({ partialSuccess: { rejectedSpans: String(rejected), errorMessage } }),
    responseType: OtlpProto.ExportTraceServiceResponse,
  },
  '/v1/logs': {
    signal: 'log',
    submit: async (pipeline, body, encoding, limits) =>
      pipeline.submit({ signal: 'log', source: 'otlp-http', exports: [await decodeLogs(body, encoding, limits)] }),
    response: (rejected, errorMessage) => ({ partialSuccess: { rejectedLogRecords: String(rejected), errorMessage } }),
    responseType: OtlpProto.ExportLogsServiceResponse,
  },
};

const gunzipAsync = promisify(gunzip);

const CONTENT_TYPES: Record<string, OtlpEncoding> = {
  'application/x-protobuf': 'protobuf',
  'application/json': 'json',
};

/** google.rpc.Code values for the Status body of error responses. */
const RPC_CODE = { 400: 3, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14 } as const;
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

export function createOtlpHttpHandler(options: OtlpHttpReceiverOptions): OtlpHttpHandler {
  const handle = async (
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    encoding: OtlpEncoding | undefined,
  ): Promise<void> => {
    if (path === '/metrics') {
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
    let result: PipelineResult;
    try {
      result = await route.submit(options.pipeline, body, encoding, options.limits);
    } catch (error) {
      if (isMcpwatchError(error, 'INPUT_INVALID')) throw new HttpError(400, 'malformed', error.message);
      if (isMcpwatchError(error, 'LIMIT_EXCEEDED') && !error.retriable) {
        throw new HttpError(400, 'limit-exceeded', error.message);
      }
      if (isMcpwatchError(error, 'LIMIT_EXCEEDED')) {
        throw new HttpError(429, 'buffer-full', error.message, options.retryAfterSeconds());
      }
      if (isMcpwatchError(error, 'TRANSPORT_FAILED') || isMcpwatchError(error, 'CLOSED')) {
        throw new HttpError(503, 'kafka-unavailable', error.message, options.retryAfterSeconds());
      }
      throw error;
    }
    const errorMessage =
      result.firstReason === undefined
        ? ''
        : `${result.rejected} ${route.signal === 'span' ? 'spans' : 'log records'} could not be accepted and were dead-lettered; first: ${result.firstReason}`;
    const message = result.rejected > 0 ? route.response(result.rejected, errorMessage) : {};
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

  return async (request, response, path) => {
    const encoding = CONTENT_TYPES[mediaType(request.headers['content-type'])];
    try {
      await handle(request, response, path, encoding);
    } catch (error) {
      if (error instanceof HttpError) {
        options.metrics.rejected.inc({ reason: error.reason });
        if (error.status >= 500 || error.status === 429) options.logger.debug({ reason: error.reason }, error.message);
        sendStatus(request, response, error, encoding ?? 'json');
        return;
      }
      if (isClientAbort(request, error)) {
        // The client went away (timeout, reset): nothing to answer, nothing worth a stack in the log.
        options.metrics.rejected.inc({ reason: 'client-aborted' });
        options.logger.debug({ code: (error as { code?: string }).code }, 'OTLP client aborted the request.');
        response.destroy();
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
    }
  };
}

const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

function isClientAbort(request: IncomingMessage, error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    (typeof code === 'string' && ABORT_CODES.has(code)) ||
    (error instanceof Error && error.message === 'aborted') ||
    (request.destroyed && !request.complete)
  );
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

/** Inflates on the thread pool with an output cap: a gzip bomb costs at most `maxBytes` and never the event loop. */
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
