import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { startLogsIngestionStandIn, type LogsIngestionStandIn } from '../../test/support/logs-ingestion-stand-in.ts';
import { alertFixture, standInCredential } from '../../test/support/azure-monitor-fixtures.ts';
import { ALERTS_TABLE, toRow } from '../../contracts/log-analytics.ts';
import { classifyUploadError, retryAfterOf, type UploadFailure } from './azure-monitor/upload-outcome.ts';

let standIn: LogsIngestionStandIn;
let client: LogsIngestionClient;

before(async () => {
  standIn = await startLogsIngestionStandIn({ maxRequestBytes: 4_000 });
  client = new LogsIngestionClient(standIn.endpoint, standInCredential, {
    tlsOptions: { ca: standIn.caPem },
    retryOptions: { maxRetries: 0 },
  });
});

after(() => standIn.close());

/** What the real SDK throws for one request to the stand-in, classified. */
async function outcomeOf(rows: Record<string, unknown>[]): Promise<UploadFailure | undefined> {
  try {
    await client.upload(standIn.dcrImmutableId, ALERTS_TABLE.streamName, rows, { maxConcurrency: 1 });
    return undefined;
  } catch (error) {
    return classifyUploadError(error);
  }
}

const row = toRow(ALERTS_TABLE, alertFixture(1));

void test('classifies what the SDK throws for each answer of the Logs Ingestion API', async () => {
  for (const status of [408, 429, 500, 502, 503] as const) {
    standIn.script({ kind: 'status', status });
    assert.equal((await outcomeOf([row]))?.kind, 'retry', `HTTP ${status}`);
  }
  for (const status of [401, 403, 404] as const) {
    standIn.script({ kind: 'status', status });
    assert.deepEqual(await outcomeOf([row]), { kind: 'stop', status, detail: `HTTP ${status}: scripted ${status}` });
  }
  standIn.script({ kind: 'reset' });
  assert.equal((await outcomeOf([row]))?.kind, 'retry');
  standIn.script({ kind: 'status', status: 429, retryAfterSeconds: 7 });
  assert.deepEqual(await outcomeOf([row]), { kind: 'retry', detail: 'HTTP 429: scripted 429', retryAfterMs: 7000 });
  assert.equal((await outcomeOf([{ ...row, NoSuchColumn: 1 }]))?.kind, 'rejected');
  assert.equal((await outcomeOf(Array.from({ length: 20 }, () => row)))?.kind, 'too-large');
  assert.equal(await outcomeOf([row]), undefined);
});

void test('reads Retry-After as seconds, HTTP date, or the Azure millisecond headers', () => {
  const headers = (values: Record<string, string>) => new Map(Object.entries(values));
  assert.equal(retryAfterOf(headers({ 'retry-after': '3' })), 3000);
  assert.equal(retryAfterOf(headers({ 'retry-after-ms': '250', 'retry-after': '3' })), 250);
  assert.equal(retryAfterOf(headers({ 'x-ms-retry-after-ms': '40' })), 40);
  const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
  const fromDate = retryAfterOf(headers({ 'retry-after': inTenSeconds }))!;
  assert.ok(fromDate > 8_000 && fromDate <= 10_000, `got ${fromDate}`);
  assert.equal(retryAfterOf(headers({ 'retry-after': 'soon' })), undefined);
  assert.equal(retryAfterOf(headers({})), undefined);
});
