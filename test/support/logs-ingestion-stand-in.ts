/**
 * A local stand-in of the Azure Monitor Logs Ingestion API for tests and demos. It speaks the documented wire
 * protocol (`POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01`, bearer token,
 * optional gzip, JSON array body, 204 on success) over HTTPS on loopback with a certificate generated at start,
 * so the real `LogsIngestionClient` runs unchanged against it. It checks what the service checks against the
 * same data collection rule the templates are generated from, stores accepted rows per table, and can be
 * scripted to fail the way the service fails.
 *
 * Stricter than the service in one way, on purpose: a column the stream does not declare is a 400 here (the
 * service drops it silently), so that contract drift fails a test instead of losing a field.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { TABLES, type LogAnalyticsType, type TableSchema } from '../../contracts/log-analytics.ts';
import {
  LOGS_INGESTION_API_VERSION,
  LOGS_INGESTION_MAX_REQUEST_BYTES,
  streamDeclarations,
  tableOfStream,
} from '../../dashboards/data-collection-rule.ts';

const run = promisify(execFile);
const gunzipAsync = promisify(gunzip);

/** A data collection rule immutable id as Azure prints them: `dcr-` and 32 hex digits. */
export const STAND_IN_DCR_IMMUTABLE_ID = 'dcr-00000000000000000000000000c0ffee';
export const STAND_IN_TOKEN = 'stand-in-access-token';

/** One scripted answer, used by the next request instead of (or before) the normal handling. */
export type IngestionFault =
  | { kind: 'status'; status: 401 | 403 | 404 | 408 | 429 | 500 | 502 | 503; retryAfterSeconds?: number }
  /** Destroys the connection without an answer, after reading the request. */
  | { kind: 'reset' }
  /** Holds the request this long, then handles it normally. */
  | { kind: 'delay'; ms: number }
  /** Stores the rows and never answers: the client cannot know they arrived (a crash or cut link right then). */
  | { kind: 'store-then-hang' };

export interface IngestionRequestRecord {
  stream: string;
  status: number;
  rows: number;
  /** Decompressed body size. */
  bytes: number;
  gzip: boolean;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
}

export interface LogsIngestionStandIn {
  /** `https://127.0.0.1:<port>`: the data collection endpoint to give the client. */
  readonly endpoint: string;
  /** PEM of the CA that signed the server certificate; trust it in the client (`tlsOptions.ca`). */
  readonly caPem: string;
  readonly dcrImmutableId: string;
  /** Accepted rows of a table, in arrival order. */
  rows(tableName: string): Record<string, unknown>[];
  readonly requests: readonly IngestionRequestRecord[];
  /** Queues faults; each request consumes the next one. */
  script(...faults: IngestionFault[]): void;
  /** Rows for which this returns true make their whole request fail with 400, as a malformed row does. */
  rejectRowsWhere(predicate: ((row: Record<string, unknown>) => boolean) | undefined): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  dcrImmutableId?: string;
  /** The bearer token to require; any non-empty one when undefined. */
  token?: string;
  tables?: readonly TableSchema[];
  /** The request size limit, compressed and decompressed; the service's 1 MB unless a test lowers it. */
  maxRequestBytes?: number;
}

class RequestRejected extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startLogsIngestionStandIn(options: StandInOptions = {}): Promise<LogsIngestionStandIn> {
  const dcrImmutableId = options.dcrImmutableId ?? STAND_IN_DCR_IMMUTABLE_ID;
  const tables = options.tables ?? TABLES;
  const declarations = streamDeclarations(tables);
  const { caPem, keyPem, certPem } = await generateCertificates();
  const stored = new Map<string, Record<string, unknown>[]>(tables.map((table) => [table.name, []]));
  const requests: IngestionRequestRecord[] = [];
  const maxRequestBytes = options.maxRequestBytes ?? LOGS_INGESTION_MAX_REQUEST_BYTES;
  const faults: IngestionFault[] = [];
  let poison: ((row: Record<string, unknown>) => boolean) | undefined;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const match = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    const stream = match === null ? '' : decodeURIComponent(match[2]!);
    const record: IngestionRequestRecord = {
      stream,
      status: 204,
      rows: 0,
      bytes: 0,
      gzip: request.headers['content-encoding'] === 'gzip',
      receivedAt: Date.now(),
    };
    requests.push(record);

    let fault = faults.shift();
    if (fault?.kind === 'delay') {
      await new Promise((resolve) => setTimeout(resolve, fault?.kind === 'delay' ? fault.ms : 0));
      fault = undefined;
    }
    if (fault?.kind === 'reset') {
      record.status = 0;
      request.socket.destroy();
      return;
    }
    try {
      if (fault?.kind === 'status') {
        const headers: Record<string, string> =
          fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
        throw Object.assign(new RequestRejected(fault.status, 'ScriptedFault', `scripted ${fault.status}`), {
          headers,
        });
      }
      if (request.method !== 'POST' || match === null) {
        throw new RequestRejected(404, 'NotFound', `no such operation: ${request.method} ${url.pathname}`);
      }
      if (url.searchParams.get('api-version') !== LOGS_INGESTION_API_VERSION) {
        throw new RequestRejected(400, 'InvalidApiVersion', `api-version must be ${LOGS_INGESTION_API_VERSION}`);
      }
      const authorization = request.headers.authorization ?? '';
      const token = /^Bearer (\S+)$/.exec(authorization)?.[1];
      if (token === undefined || (options.token !== undefined && token !== options.token)) {
        throw new RequestRejected(401, 'InvalidToken', 'a valid bearer token is required');
      }
      if (decodeURIComponent(match[1]!) !== dcrImmutableId) {
        throw new RequestRejected(404, 'DataCollectionRuleNotFound', `no data collection rule ${match[1]}`);
      }
      const declaration = declarations[stream];
      const table = tableOfStream(stream, tables);
      if (declaration === undefined || table === undefined) {
        throw new RequestRejected(400, 'InvalidStream', `the data collection rule declares no stream ${stream}`);
      }
      const text = record.gzip ? await decompress(body, maxRequestBytes) : body;
      record.bytes = text.length;
      if (body.length > maxRequestBytes || text.length > maxRequestBytes) {
        throw new RequestRejected(413, 'ContentLengthLimitExceeded', `request body exceeds ${maxRequestBytes} bytes`);
      }
      const rows = parseRows(text, declaration.columns);
      if (poison !== undefined && rows.some(poison)) {
        throw new RequestRejected(400, 'InvalidRecord', 'a record was rejected');
      }
      stored.get(table.name)!.push(...rows);
      record.rows = rows.length;
      if (fault?.kind === 'store-then-hang') return;
      response.writeHead(204).end();
    } catch (error) {
      const rejected =
        error instanceof RequestRejected ? error : new RequestRejected(500, 'InternalError', String(error));
      record.status = rejected.status;
      const headers = (rejected as RequestRejected & { headers?: Record<string, string> }).headers ?? {};
      response
        .writeHead(rejected.status, { 'content-type': 'application/json', ...headers })
        .end(JSON.stringify({ error: { code: rejected.code, message: rejected.message } }));
    }
  };

  const server: Server = createServer({ key: keyPem, cert: certPem }, (request, response) => {
    handle(request, response).catch(() => request.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `https://127.0.0.1:${port}`,
    caPem,
    dcrImmutableId,
    rows: (tableName) => [...(stored.get(tableName) ?? [])],
    requests,
    script: (...more) => faults.push(...more),
    rejectRowsWhere: (predicate) => {
      poison = predicate;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads at most 4× the request limit; beyond that the connection is cut. */
async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4 * LOGS_INGESTION_MAX_REQUEST_BYTES) {
      request.socket.destroy();
      throw new Error('request body far beyond the limit');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function decompress(body: Buffer, maxRequestBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: maxRequestBytes + 1 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RequestRejected(413, 'ContentLengthLimitExceeded', 'decompressed body exceeds the limit');
    }
    throw new RequestRejected(400, 'InvalidContentEncoding', 'body is not valid gzip');
  }
}

function parseRows(
  text: Buffer,
  columns: readonly { name: string; type: LogAnalyticsType }[],
): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch {
    throw new RequestRejected(400, 'InvalidJson', 'body is not JSON');
  }
  if (!Array.isArray(parsed)) throw new RequestRejected(400, 'InvalidJson', 'body must be a JSON array');
  const types = new Map(columns.map((column) => [column.name, column.type]));
  return parsed.map((row: unknown, index) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new RequestRejected(400, 'InvalidRecord', `record ${index} is not an object`);
    }
    for (const [name, value] of Object.entries(row)) {
      const type = types.get(name);
      if (type === undefined) throw new RequestRejected(400, 'InvalidRecord', `record ${index}: no column ${name}`);
      if (value !== null && !hasType(value, type)) {
        throw new RequestRejected(400, 'InvalidRecord', `record ${index}: ${name} is not a ${type}`);
      }
    }
    return row as Record<string, unknown>;
  });
}

function hasType(value: unknown, type: LogAnalyticsType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'int':
    case 'long':
      return Number.isInteger(value);
    case 'real':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'datetime':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value));
    case 'dynamic':
      return true;
  }
}

/** A throwaway CA and a leaf for 127.0.0.1, made with the `openssl` CLI in a private temporary directory. */
export async function generateCertificates(): Promise<{ caPem: string; keyPem: string; certPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpwatch-stand-in-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2',
      '-subj', '/CN=mcpwatch stand-in CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]); // prettier-ignore
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      file('leaf.key'),
      '-out',
      file('leaf.csr'),
      '-subj',
      '/CN=127.0.0.1',
    ]);
    await writeFile(
      file('leaf.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    );
    await run('openssl', [
      'x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-CAcreateserial', '-days', '2', '-extfile', file('leaf.ext'), '-out', file('leaf.pem'),
    ]); // prettier-ignore
    const [caPem, keyPem, certPem] = await Promise.all(
      ['ca.pem', 'leaf.key', 'leaf.pem'].map((name) => readFile(file(name), 'utf8')),
    );
    return { caPem: caPem!, keyPem: keyPem!, certPem: certPem! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// `npx tsx test/support/logs-ingestion-stand-in.ts [ca-file]`: runs the stand-in for a demo until interrupted.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const standIn = await startLogsIngestionStandIn();
  const caFile = process.argv[2] ?? join(tmpdir(), 'mcpwatch-stand-in-ca.pem');
  await writeFile(caFile, standIn.caPem);
  console.log(JSON.stringify({ endpoint: standIn.endpoint, dcrImmutableId: standIn.dcrImmutableId, caFile }));
  process.once('SIGINT', () => void standIn.close());
  process.once('SIGTERM', () => void standIn.close());
}
