import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { describeIssues, MAX_EVENT_VALUE_DEPTH, McpEventParser, parseMcpEvent } from '../contracts/parse.ts';
import { FLATTENED_VALUE_MARKER } from '../contracts/signals.ts';
import { z } from 'zod';
import { MAX_RECORD_BYTES, type IncomingRecord, type OutgoingRecord } from '../transport/types.ts';
import { recordToCheckpoint } from './checkpoint.ts';
import { applyRekeyedBatch, BatchWork, ORIGIN_HEADER, routeEventsBatch, ScopeRunner } from './partition-runner.ts';
import { loadEvents } from './rules/fixtures/environment.ts';
import { sessionClientChange } from './rules/session-client-change.ts';
import { tokenPassthrough } from './rules/token-passthrough.ts';
import { toolPoisoning } from './rules/tool-poisoning.ts';
import type { Rule } from './types.ts';

const rules = [{ rule: tokenPassthrough as Rule<unknown, unknown>, config: tokenPassthrough.configSchema.parse({}) }];
// A call (keyed by its session) and the server's outbound request (keyed by the server) two seconds later: on
// Kafka they reach the server engine from two events partitions, the call after a hop, so often second.
const [call, outbound] = loadEvents(
  path.join(import.meta.dirname, 'rules/fixtures/token-passthrough/positive/call-token-forwarded-to-graph.jsonl'),
);

const asStored = (record: { key: string | null; value: Buffer | string }) => ({
  key: record.key,
  value: Buffer.from(record.value),
});

void describe('an engine fed from several partitions', () => {
  void test('runs what arrives out of order in event-time order once event time passes it', () => {
    const runner = new ScopeRunner('server', 1, { rules }, 60_000);
    assert.deepEqual(runner.process(outbound!, 'events/7'), [], 'held, not run');
    assert.deepEqual(runner.process(call!, 'events.repartition.server.v1/3'), []);
    assert.equal(runner.held, 2);
    const alerts = runner.advanceTo(Date.parse(outbound!.time));
    assert.deepEqual(
      alerts.map((alert) => alert.ruleId),
      ['token-passthrough'],
      'the forwarded token is seen after its call',
    );
    assert.equal(runner.held, 0);

    const unordered = new ScopeRunner('server', 1, { rules });
    unordered.process(outbound!, 'events/7');
    assert.deepEqual(unordered.process(call!, 'events.repartition.server.v1/3'), [], 'in arrival order it is missed');
  });

  void test('holds events until event time is holdMs past them, then runs them in order', () => {
    const runner = new ScopeRunner('server', 1, { rules }, 1_000);
    runner.process(outbound!, 'events/7');
    runner.process(call!, 'events.repartition.server.v1/3');
    const later = { ...call!, eventId: 'later', time: new Date(Date.parse(outbound!.time) + 1_000).toISOString() };
    const alerts = runner.process(later, 'events/8');
    assert.deepEqual(
      alerts.map((alert) => alert.ruleId),
      ['token-passthrough'],
    );
    assert.equal(runner.held, 1, 'the newest event waits for the others');
  });

  void test('what it holds survives a restart: checkpointed, restored, run once', () => {
    const first = new ScopeRunner('server', 1, { rules }, 60_000);
    first.process(outbound!, 'events/7');
    const checkpoint = first.takeCheckpoint();
    assert.deepEqual(
      checkpoint.map((record) => record.key),
      ['server/1/held-batch/events/7'],
    );
    // Held and run between two checkpoints: no record; held across a checkpoint and then run: a tombstone.
    first.process(call!, 'events.repartition.server.v1/3');
    first.advanceTo(Date.parse(outbound!.time));
    const after = first.takeCheckpoint().filter((record) => record.key!.includes('/held'));
    assert.deepEqual(
      after.map((record) => [record.key, String(record.value)]),
      [['server/1/held-batch/events/7', '']],
    );

    const second = new ScopeRunner('server', 1, { rules }, 60_000);
    for (const record of checkpoint) second.apply(recordToCheckpoint(asStored(record)));
    assert.equal(second.held, 1);
    assert.deepEqual(second.process(outbound!, 'events/7'), [], 'the same record read again is not held twice');
    second.process(call!, 'events.repartition.server.v1/3');
    assert.deepEqual(
      second.advanceTo(Date.parse(outbound!.time)).map((alert) => alert.ruleId),
      ['token-passthrough'],
    );

    const third = new ScopeRunner('server', 1, { rules }, 60_000);
    for (const record of [...checkpoint, ...after]) third.apply(recordToCheckpoint(asStored(record)));
    assert.equal(third.held, 0, 'a tombstone forgets the held event');
  });
});

void describe('what an engine holds, in the state log', () => {
  /** Alerts on every event it runs, so the alerts list the events in the order they ran. */
  const everyEvent: Rule<undefined, undefined> = {
    meta: { ...tokenPassthrough.meta, id: 'test-every-event', version: 1 },
    configSchema: z.undefined(),
    scope: 'server',
    keyOf: (event) => event.eventId,
    initialState: () => undefined,
    onEvent: (_state, event) => ({
      state: undefined,
      findings: [
        {
          subject: event.eventId,
          title: 'ran',
          description: 'ran',
          entities: {},
          evidence: {},
          eventIds: [event.eventId],
        },
      ],
    }),
  };
  const everyEventRules = [{ rule: everyEvent as Rule<unknown, unknown>, config: undefined }];
  const start = Date.parse(call!.time);
  const eventAt = (id: string, ms: number, eventId = id) => ({
    ...call!,
    eventId,
    time: new Date(start + ms).toISOString(),
  });
  const restored = (records: readonly { key: string | null; value: Buffer | string }[]) => {
    const runner = new ScopeRunner('server', 1, { rules: everyEventRules }, 1_000);
    for (const record of records) runner.apply(recordToCheckpoint(asStored(record)));
    return runner;
  };
  /** Runs everything held; the events in the order they ran. */
  const heldRecords = (records: readonly OutgoingRecord[]) =>
    records.filter((record) => record.key!.includes('/held')).map((record) => [record.key, String(record.value)]);
  const heldOrder = (runner: ScopeRunner) =>
    runner.advanceTo(Number.POSITIVE_INFINITY).flatMap((alert) => alert.eventIds);

  void test('goes out as one record per checkpoint, and what ran of it as a count', () => {
    const runner = new ScopeRunner('server', 1, { rules: everyEventRules }, 1_000);
    for (let index = 0; index < 5; index += 1) runner.process(eventAt(`e${index}`, index * 100), `events/${index}`);
    const first = runner.takeCheckpoint();
    assert.deepEqual(
      first.map((record) => record.key),
      ['server/1/held-batch/events/0'],
      'five held events, one record',
    );
    // 1,250 ms: the events at 0, 100 and 200 ms are 1 s behind and run; the rest stays held with it.
    assert.equal(runner.process(eventAt('e5', 1_250), 'events/5').length, 3);
    const second = runner.takeCheckpoint();
    assert.deepEqual(
      heldRecords(second).map(([key]) => key),
      ['server/1/held-batch/events/5', 'server/1/held-progress'],
    );
    assert.equal(heldRecords(second)[1]![1], '{"ran":{"events/0":3}}');
    const afterTwo = restored([...first, ...second]);
    assert.equal(afterTwo.held, 3);
    assert.equal(afterTwo.process(eventAt('e3', 300), 'events/3').length, 0, 'still held, not held twice');

    assert.equal(runner.advanceTo(start + 1_250).length, 3);
    const third = runner.takeCheckpoint();
    assert.deepEqual(
      heldRecords(third),
      [
        ['server/1/held-batch/events/0', ''],
        ['server/1/held-batch/events/5', ''],
        ['server/1/held-progress', ''],
      ],
      'every batch ran: emptied, and no progress left',
    );
    assert.equal(restored([...first, ...second, ...third]).held, 0);
  });

  void test('a restore holds exactly what had not run, in the order it would have run', () => {
    // Random interleavings of late and early events, checkpoints and idle advances; after each checkpoint an
    // engine restored from the log so far must run the same events in the same order as the one that wrote it.
    for (let seed = 1; seed <= 20; seed += 1) {
      let state = seed;
      const random = () => (state = (state * 48_271) % 2_147_483_647) / 2_147_483_647;
      const steps: ('event' | 'checkpoint' | 'idle')[] = [];
      for (let index = 0; index < 120; index += 1) {
        const roll = random();
        steps.push(roll < 0.8 ? 'event' : roll < 0.97 ? 'checkpoint' : 'idle');
      }
      const times = steps.map(() => Math.floor(random() * 5_000));
      const play = (until: number) => {
        const runner = new ScopeRunner('server', 1, { rules: everyEventRules }, 1_000);
        const log: OutgoingRecord[] = [];
        let clock = 0;
        for (let index = 0; index < until; index += 1) {
          const step = steps[index]!;
          if (step === 'event') {
            clock += 40;
            // A time of the same millisecond as another now and then, to order by seq.
            runner.process(eventAt(`e${index}`, clock + times[index]! - 2_500), `events/${index}`);
          } else if (step === 'idle') runner.advanceTo(start + clock);
          else log.push(...runner.takeCheckpoint());
        }
        return { runner, log };
      };
      for (let index = 0; index < steps.length; index += 1) {
        if (steps[index] !== 'checkpoint') continue;
        const { runner, log } = play(index + 1);
        const fromLog = restored(log);
        assert.equal(fromLog.held, runner.held, `seed ${seed}, step ${index}: held count`);
        assert.deepEqual(heldOrder(fromLog), heldOrder(runner), `seed ${seed}, step ${index}: what runs next`);
      }
    }
  });

  void test('many or large held events go out in records under the size limit', () => {
    const runner = new ScopeRunner('server', 1, { rules: everyEventRules }, 60_000);
    const large = 'x'.repeat(100_000);
    for (let index = 0; index < 5; index += 1)
      runner.process({ ...eventAt(`e${index}`, index), tool: large }, `events/${index}`);
    const records = runner.takeCheckpoint();
    assert.deepEqual(
      records.map((record) => record.key),
      ['server/1/held-batch/events/0', 'server/1/held-batch/events/2', 'server/1/held-batch/events/4'],
    );
    for (const record of records) assert.ok(Buffer.byteLength(record.value) < MAX_RECORD_BYTES);
    const again = restored(records);
    assert.deepEqual(heldOrder(again), heldOrder(runner));
  });

  void test('events held in the earlier layout (one record each) are restored, and emptied once run', () => {
    const legacy = [0, 1].map((index) => ({
      key: `server/1/held/events/${index}`,
      value: JSON.stringify({ seq: index, event: eventAt(`e${index}`, index * 100) }),
    }));
    const runner = restored([...legacy, { key: 'server/1/held/events/1', value: '' }]);
    assert.equal(runner.held, 1);
    assert.equal(runner.advanceTo(start).length, 1);
    assert.deepEqual(heldRecords(runner.takeCheckpoint()), [['server/1/held/events/0', '']]);
  });
});

void describe('a session engine on several partitions', () => {
  const sessionRules = [
    { rule: sessionClientChange as Rule<unknown, unknown>, config: sessionClientChange.configSchema.parse({}) },
  ];
  // Two calls of one session, thirty seconds apart, the second from another address.
  const [firstCall, secondCall] = loadEvents(
    path.join(import.meta.dirname, 'rules/fixtures/session-client-change/positive/same-principal-new-address.jsonl'),
  );
  // A tool catalog of another session, keyed by its server on the events topic: it reaches this engine after a
  // hop from a partition six months ahead (after a failover, or behind a lagging consumer).
  const [catalog] = loadEvents(
    path.join(import.meta.dirname, 'rules/fixtures/tool-definition-drift/positive/tool-added-silently.jsonl'),
  );
  const farAhead = { ...catalog!, time: '2026-09-01T10:00:00.000Z' };

  void test('a re-keyed event far ahead in event time does not evict a session whose next event comes later', () => {
    const runner = new ScopeRunner('session', 3, { rules: sessionRules });
    assert.deepEqual(runner.process(firstCall!, 'events/3/10'), []);
    runner.processRekeyed(farAhead, { partition: 5, offset: 40n }, 'events.repartition.session.v1/3/0');
    assert.deepEqual(
      runner.process(secondCall!, 'events/3/11').map((alert) => alert.ruleId),
      ['session-client-change'],
      'the session is still known when its next event is read',
    );
    assert.equal(runner.eventTime, Date.parse(secondCall!.time), 'the clock is this partition’s');
  });
});

/** A tool catalog whose input schema nests 200 deep, with a key outside the schema. */
const deepCatalog = (() => {
  let schema: unknown = { type: 'string' };
  for (let level = 0; level < 200; level += 1) schema = { type: 'object', properties: { next: schema } };
  return {
    schemaVersion: 1,
    kind: 'tool-catalog',
    eventId: 'deep-catalog',
    time: '2026-03-02T09:00:00.000Z',
    server: { name: 'weather' },
    trigger: 'tools/list',
    tools: [{ name: 'get_forecast', inputSchema: schema, hash: `sha256:${'0'.repeat(64)}` }],
    listHash: `sha256:${'1'.repeat(64)}`,
    unknownField: 'not in the schema',
  };
})();

const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;

void describe('an events-topic batch', () => {
  const recordOf = (value: string, offset: number): IncomingRecord => ({
    topic: 'mcp.events.v1',
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(value),
    headers: {},
    timestamp: 0,
  });
  const route = (values: string[]): BatchWork => {
    const work = new BatchWork();
    const records = values.map(recordOf);
    routeEventsBatch(records, 0, 1, [], new Map(), work, new McpEventParser(MAX_EVENT_VALUE_DEPTH));
    return work;
  };

  void test('flattens values nested past the limit, as the collector and replay do', () => {
    const work = route([JSON.stringify(deepCatalog)]);
    assert.deepEqual(work.invalid, []);
    assert.equal(depthOf(work.events[0]), MAX_EVENT_VALUE_DEPTH);
    assert.ok(JSON.stringify(work.events[0]).includes(JSON.stringify(FLATTENED_VALUE_MARKER)));
  });

  void test('dead-letters what is not an event with the issues zod reports', () => {
    const invalid = { schemaVersion: 1, kind: 'call', eventId: '', time: 'yesterday' };
    const work = route([JSON.stringify(invalid), '{"not json']);
    const parsed = parseMcpEvent(invalid);
    assert.equal(parsed.ok, false);
    assert.deepEqual(
      work.invalid.map(({ record, reason }) => [record.offset, reason.startsWith('(root): not JSON') || reason]),
      [
        ['0', parsed.ok ? '' : describeIssues(parsed.issues)],
        ['1', true],
      ],
    );
  });
});

void describe('a repartition batch', () => {
  void test('parses each re-keyed event as its events record was parsed', () => {
    const parser = new McpEventParser(MAX_EVENT_VALUE_DEPTH);
    const direct = parser.parse(structuredClone(deepCatalog));
    assert.ok(direct.ok);
    const runner = new ScopeRunner(
      'server',
      0,
      { rules: [{ rule: toolPoisoning, config: toolPoisoning.configSchema.parse({}) }] },
      60_000,
    );
    const work = new BatchWork();
    const rekeyed: IncomingRecord = {
      topic: 'mcpwatch.repartition.server.v1',
      partition: 0,
      offset: '0',
      key: 'server:weather',
      value: Buffer.from(JSON.stringify(deepCatalog)),
      headers: { [ORIGIN_HEADER]: '1/5' },
      timestamp: 0,
    };
    applyRekeyedBatch([rekeyed], runner, work, parser);
    assert.deepEqual(work.invalid, []);
    assert.equal(runner.held, 1);
    const [held] = runner.takeCheckpoint().filter((record) => record.key!.includes('/held-batch/'));
    const { events } = JSON.parse(String(held!.value)) as { events: { event: unknown }[] };
    assert.deepEqual(events[0]!.event, direct.value, 'the same event as on the events topic');
    assert.equal(depthOf(events[0]!.event), MAX_EVENT_VALUE_DEPTH);
  });
});
