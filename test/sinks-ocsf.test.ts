/**
 * `format: ocsf` on the file, Kafka (real broker) and webhook sinks: what each writes is one OCSF 1.8.0 Detection
 * Finding per alert, valid against the vendored OCSF schema, carrying the alert's id.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../contracts/alert.ts';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { RULES } from '../detectors/rules/index.ts';
import { loadEvents, runCatalog } from '../detectors/rules/fixtures/environment.ts';
import { createSinks } from '../detectors/sinks/index.ts';
import { createTransport } from '../transport/index.ts';
import { TOPICS } from '../transport/topics.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { loadOcsfSchema } from './support/ocsf-schema.ts';

const schema = loadOcsfSchema();
const FIXTURES = fileURLToPath(new URL('../detectors/rules/fixtures/token-passthrough/positive/', import.meta.url));

function fixtureAlerts(): Alert[] {
  return readdirSync(FIXTURES)
    .filter((file) => file.endsWith('.jsonl'))
    .flatMap((file) => runCatalog(loadEvents(join(FIXTURES, file))).alerts);
}

/** Every record a valid Detection Finding, one per alert, in order. */
function assertFindings(records: unknown[], alerts: readonly Alert[], where: string): void {
  assert.equal(records.length, alerts.length, `${where}: one record per alert`);
  records.forEach((record, index) => {
    assert.deepEqual(schema.validate(record), [], `${where}[${index}]`);
    const { class_uid: classUid, finding_info: info } = record as { class_uid: number; finding_info: { uid: string } };
    assert.equal(classUid, 2004);
    assert.equal(info.uid, alerts[index]!.alertId);
  });
}

void describe('sinks with format: ocsf', () => {
  void test('file, kafka and webhook write valid OCSF Detection Findings', async () => {
    const alerts = fixtureAlerts();
    assert.ok(alerts.length >= 2);
    const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-ocsf-sinks-'));
    const bodies: unknown[] = [];
    const receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const transport = await createTransport({ kind: 'kafka', kafka: { brokers: kafkaBrokers() } });
    const topic = uniqueTopic('ocsf-alerts');
    try {
      const config = parseDetectorsConfig(
        {
          sinks: [
            { type: 'file', path: join(directory, 'alerts.ocsf.jsonl'), format: 'ocsf' },
            { type: 'kafka', topic, format: 'ocsf' },
            {
              type: 'webhook',
              url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
              format: 'ocsf',
            },
          ],
        },
        RULES,
      );
      const sinks = createSinks(config.sinks, { transport });
      for (const sink of sinks) await sink.deliver(alerts);
      await Promise.all(sinks.map((sink) => sink.close()));

      const lines = (await readFile(join(directory, 'alerts.ocsf.jsonl'), 'utf8')).trimEnd().split('\n');
      assertFindings(
        lines.map((line) => JSON.parse(line) as unknown),
        alerts,
        'file',
      );
      assert.equal(bodies.length, 1);
      assertFindings(bodies[0] as unknown[], alerts, 'webhook');

      const consumed: { key: string | null; value: unknown }[] = [];
      const consumer = await transport.consumer({
        groupId: uniqueTopic('ocsf-reader'),
        topics: [topic],
        from: 'earliest',
      });
      let allRead: () => void = () => undefined;
      const read = new Promise<void>((resolve) => (allRead = resolve));
      const running = consumer.run({
        onBatch: (batch) => {
          for (const record of batch.records) {
            consumed.push({ key: record.key, value: JSON.parse(record.value.toString('utf8')) as unknown });
          }
          if (consumed.length >= alerts.length) allRead();
          return Promise.resolve();
        },
      });
      await Promise.race([read, running]);
      await consumer.close();
      await running;
      // Keyed by alert id on several partitions: order holds per key, so compare by id.
      const byId = new Map(consumed.map((record) => [record.key, record.value]));
      assertFindings(
        alerts.map((alert) => byId.get(alert.alertId)),
        alerts,
        'kafka',
      );
    } finally {
      await transport.close();
      receiver.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  void test('an OCSF kafka sink defaults to its own topic and refuses the mcpwatch alerts topic', () => {
    const [sink] = parseDetectorsConfig({ sinks: [{ type: 'kafka', format: 'ocsf' }] }, RULES).sinks;
    assert.deepEqual(sink, { type: 'kafka', format: 'ocsf' });
    assert.throws(
      () => parseDetectorsConfig({ sinks: [{ type: 'kafka', format: 'ocsf', topic: TOPICS.alerts }] }, RULES),
      /sinks\[0\]\.topic: mcp\.alerts\.v1 carries mcpwatch alerts/,
    );
    assert.throws(
      () => parseDetectorsConfig({ sinks: [{ type: 'file', path: 'x', format: 'cef' }] }, RULES),
      /sinks\[0\]\.format/,
    );
  });
});
