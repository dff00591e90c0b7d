/**
 * Audit events to the sinks that opt in (`auditEvents: true`), through the real detectors runtime on the real
 * broker with 3 events partitions and a principal-scope rule, so events are re-keyed through a repartition topic:
 * every valid event of the events topic arrives exactly once at each sink that carries events (the re-keyed
 * copies are not delivered again), none at the sinks that do not, and the invalid record nowhere. The sinks are
 * the real ones against the Logs Ingestion and HEC stand-ins, a file and a Kafka topic in OCSF (API Activity
 * valid against the vendored schema).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ALERTS_TABLE, EVENTS_TABLE, toRow } from '../contracts/log-analytics.ts';
import { partitionKeyOf, type McpEvent } from '../contracts/mcp-event.ts';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { alertIdOf } from '../detectors/engine.ts';
import { startDetectors } from '../detectors/runtime.ts';
import { KafkaSink, createSinks } from '../detectors/sinks/index.ts';
import type { Rule } from '../detectors/types.ts';
import { createTransport } from '../transport/index.ts';
import type { Transport } from '../transport/types.ts';
import { startServe } from '../cli/serve.ts';
import { TOPICS } from '../transport/topics.ts';
import { produceEvents } from './detectors-support.ts';
import { callEvent, sessionTwoPrincipals, testRules } from './detectors-test-rule.ts';
import { standInCredential } from './support/azure-monitor-fixtures.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { STAND_IN_TOKEN, startLogsIngestionStandIn } from './support/logs-ingestion-stand-in.ts';
import { loadOcsfSchema } from './support/ocsf-schema.ts';
import { HEC_STAND_IN_TOKEN, startSplunkHecStandIn } from './support/splunk-hec-stand-in.ts';
import { waitFor } from './support/wait-for.ts';

/** Fires on nothing; it only makes the runtime re-key every event by principal. */
const principalSeen: Rule<object, object> = {
  ...(sessionTwoPrincipals as unknown as Rule<object, object>),
  meta: { ...sessionTwoPrincipals.meta, id: 'test-principal-seen' },
  scope: 'principal',
  keyOf: (event) => event.principal?.id,
  initialState: () => ({}),
  onEvent: (state) => ({ state }),
};

const PARTITIONS = 3;

/** 10 sessions by 7 principals; the sessions whose events come from two principals alert. */
function traffic(): McpEvent[] {
  return Array.from({ length: 40 }, (_, index) =>
    callEvent(`audit-${index}`, index, `s${index % 10}`, `p${(index * 3) % 7}`),
  );
}

async function linesOf(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '');
}

async function readTopic(transport: Transport, topic: string): Promise<{ key: string | null; value: unknown }[]> {
  const records: { key: string | null; value: unknown }[] = [];
  for (let partition = 0; partition < (await transport.partitionCount(topic)); partition += 1) {
    for await (const record of transport.readPartition(topic, partition)) {
      records.push({ key: record.key, value: JSON.parse(record.value.toString('utf8')) as unknown });
    }
  }
  return records;
}

void describe('audit events through the detectors runtime', () => {
  void test('each events-topic event reaches every sink with auditEvents once, repartition copies never, the others none', async () => {
    const schema = loadOcsfSchema();
    const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-audit-events-'));
    const azure = await startLogsIngestionStandIn({ token: STAND_IN_TOKEN });
    const hec = await startSplunkHecStandIn({ tls: true });
    await writeFile(join(directory, 'azure-ca.pem'), azure.caPem);
    await writeFile(join(directory, 'hec-ca.pem'), hec.caPem!);
    const transport = await createTransport({ kind: 'kafka', kafka: { brokers: kafkaBrokers() } });
    const events = uniqueTopic('audit-events');
    const ocsfEventsTopic = uniqueTopic('audit-events-ocsf');
    await transport.ensureTopics([{ topic: events, partitions: PARTITIONS }]);

    const azureSink = (name: string, auditEvents: boolean) => ({
      type: 'azure-monitor' as const,
      endpoint: azure.endpoint,
      dcrImmutableId: azure.dcrImmutableId,
      caFile: join(directory, 'azure-ca.pem'),
      spool: { directory: join(directory, `spool-${name}`) },
      auditEvents,
    });
    const hecSink = (auditEvents: boolean) => ({
      type: 'splunk-hec' as const,
      url: hec.url,
      token: HEC_STAND_IN_TOKEN,
      caFile: join(directory, 'hec-ca.pem'),
      ackPollMs: 20,
      auditEvents,
    });
    const config = parseDetectorsConfig(
      {
        groupId: uniqueTopic('audit-group'),
        // The principal engines hold each event until later ones arrive; idle, they run the last ones soon.
        engine: { allowedLatenessMs: 0, idlePartitionMs: 200 },
        sinks: [
          azureSink('with', true),
          azureSink('without', false),
          hecSink(true),
          hecSink(false),
          {
            type: 'file',
            path: join(directory, 'alerts.jsonl'),
            format: 'ocsf',
            auditEvents: true,
            eventsPath: join(directory, 'events.ocsf.jsonl'),
          },
          {
            type: 'kafka',
            topic: uniqueTopic('audit-alerts'),
            format: 'ocsf',
            auditEvents: true,
            eventsTopic: ocsfEventsTopic,
          },
        ],
      },
      [sessionTwoPrincipals, principalSeen],
    );
    const runtime = await startDetectors({
      transport,
      config,
      sinks: createSinks(config.sinks, { transport, azureCredential: standInCredential }),
      topics: {
        events,
        detectorState: uniqueTopic('audit-state'),
        eventsDeadLetter: uniqueTopic('audit-dlq'),
      },
      deliveryBackoffMs: 50,
      logger: pino({ level: 'silent' }),
    });
    const sent = traffic();
    const sessionsAlerting = new Set(
      ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9'].filter(
        (session) => new Set(sent.filter((event) => event.sessionId === session).map((e) => e.principal!.id)).size > 1,
      ),
    );
    try {
      const producer = await transport.producer();
      await producer.send(events, [
        ...sent.map((event) => ({ key: partitionKeyOf(event), value: JSON.stringify(event) })),
        { key: 's0', value: '{"not": "an event"}' },
      ]);
      await producer.close();

      // Each event runs through the session engine and, after its hop, the principal engine: once both counted
      // every event, every batch (events and repartition) was delivered and committed.
      await waitFor(
        'both scopes ran every event',
        async () => {
          const metrics = await runtime.metrics.registry.metrics();
          return new RegExp(`^mcpwatch_detector_events_total ${2 * sent.length}$`, 'm').test(metrics);
        },
        60_000,
      );
      const metrics = await runtime.metrics.registry.metrics();
      const rekeyed = /^mcpwatch_detector_repartitioned_total\{scope="principal"\} (\d+)$/m.exec(metrics);
      assert.ok(
        rekeyed !== null && Number(rekeyed[1]) > 0,
        'some events crossed partitions through the repartition topic',
      );
    } finally {
      // Closing flushes the Azure spools, so whatever was delivered is at the stand-in before the counting.
      await runtime.close();
    }
    try {
      const eventIds = sent.map((event) => event.eventId).sort();
      const alertIds = [...sessionsAlerting].map((session) => alertIdOf('test-session-two-principals', 1, session));
      assert.ok(alertIds.length > 0);

      // Azure: one events row per event from the sink with auditEvents; alerts from both.
      assert.deepEqual(
        azure.rows(EVENTS_TABLE.name).sort((a, b) => String(a.EventId).localeCompare(String(b.EventId))),
        [...sent].sort((a, b) => a.eventId.localeCompare(b.eventId)).map((event) => toRow(EVENTS_TABLE, event)),
      );
      assert.equal(azure.rows(ALERTS_TABLE.name).length, 2 * alertIds.length);
      assert.ok(azure.requests.some((request) => request.stream === EVENTS_TABLE.streamName));

      // Splunk: events under their own sourcetype, once; alerts from both sinks.
      const indexed = hec.events();
      const hecEvents = indexed.filter((event) => event.sourcetype === 'mcpwatch:event');
      assert.deepEqual(hecEvents.map((event) => (event.event as McpEvent).eventId).sort(), eventIds);
      for (const event of hecEvents) assert.equal(event.time, Date.parse((event.event as McpEvent).time) / 1000);
      assert.equal(indexed.filter((event) => event.sourcetype === 'mcpwatch:alert').length, 2 * alertIds.length);
      assert.equal(indexed.length, hecEvents.length + 2 * alertIds.length);

      // File and Kafka in OCSF: API Activity records, valid, one per event, carrying its id.
      const lines = (await readFile(join(directory, 'events.ocsf.jsonl'), 'utf8')).trimEnd().split('\n');
      const fileRecords = lines.map((line) => JSON.parse(line) as { class_uid: number; metadata: { uid: string } });
      const kafkaRecords = await readTopic(transport, ocsfEventsTopic);
      for (const [where, records] of [
        ['file', fileRecords],
        ['kafka', kafkaRecords.map((record) => record.value as (typeof fileRecords)[number])],
      ] as const) {
        for (const record of records) {
          assert.deepEqual(schema.validate(record), [], `${where} ${record.metadata.uid}`);
          assert.equal(record.class_uid, 6003);
        }
        assert.deepEqual(records.map((record) => record.metadata.uid).sort(), eventIds, where);
      }
      assert.ok(
        kafkaRecords.every((record) => record.key === (record.value as (typeof fileRecords)[number]).metadata.uid),
      );
    } finally {
      await transport.close();
      await azure.close();
      await hec.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  void test('mcpwatch serve: the embedded pipeline writes every event to a file sink with auditEvents', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-audit-serve-'));
    const eventsPath = join(directory, 'events.jsonl');
    const serve = await startServe({
      host: '127.0.0.1',
      port: 0,
      dashboardPort: false,
      config: parseDetectorsConfig(
        { sinks: [{ type: 'file', path: join(directory, 'alerts.jsonl'), auditEvents: true, eventsPath }] },
        testRules,
      ),
      logger: pino({ level: 'silent' }),
    });
    const sent = traffic();
    try {
      await produceEvents(serve.transport, TOPICS.events, sent);
      await waitFor('the events in the file', async () => (await linesOf(eventsPath)).length >= sent.length);
    } finally {
      await serve.close();
    }
    assert.deepEqual(
      (await linesOf(eventsPath)).map((line) => JSON.parse(line) as McpEvent),
      sent,
    );
    await rm(directory, { recursive: true, force: true });
  });

  void test('the configuration refuses audit events without a place of their own', () => {
    const refused = (sink: object, message: RegExp) =>
      assert.throws(() => parseDetectorsConfig({ sinks: [sink] }, []), message);
    refused(
      { type: 'file', path: 'a.jsonl', auditEvents: true },
      /sinks\[0\]\.eventsPath: auditEvents needs eventsPath/,
    );
    refused(
      { type: 'file', path: 'a.jsonl', eventsPath: 'a.jsonl' },
      /sinks\[0\]\.eventsPath: the audit events need a file of their own/,
    );
    refused({ type: 'kafka', auditEvents: true }, /sinks\[0\]\.eventsTopic: the audit events are in mcp\.events\.v1/);
    refused(
      { type: 'kafka', format: 'ocsf', auditEvents: true, eventsTopic: 'mcp.events.v1' },
      /sinks\[0\]\.eventsTopic: the audit events need a topic of their own/,
    );
    refused(
      { type: 'splunk-hec', url: 'https://splunk.example:8088', sourcetype: 'mcpwatch:event', auditEvents: true },
      /sinks\[0\]\.eventsSourcetype: the audit events need a sourcetype of their own/,
    );
    const [kafka] = createSinks(
      parseDetectorsConfig({ sinks: [{ type: 'kafka', format: 'ocsf', auditEvents: true }] }, []).sinks,
      {
        transport: {} as Transport,
      },
    );
    assert.ok(kafka instanceof KafkaSink);
    assert.equal(kafka.eventsTopic, 'mcp.events.ocsf.v1');
    for (const sinks of [
      [{ type: 'file', path: 'a.jsonl', eventsPath: 'b.jsonl' }],
      [{ type: 'kafka', format: 'ocsf' }],
      [{ type: 'stdout' }],
    ]) {
      const [sink] = createSinks(parseDetectorsConfig({ sinks }, []).sinks, { transport: {} as Transport });
      assert.equal(sink!.deliverEvents, undefined, `${sink!.name} without auditEvents carries no events`);
    }
  });
});
