/**
 * The detectors through the whole rule catalog, from the real broker, against raw kafkajs consume +
 * `JSON.parse` of the same records in the same run, in events/s and in CPU time of this process per event (the
 * broker runs in its own process; CPU time moves less than wall time with other load on the machine);
 * produce-to-alert latency at a fixed rate; memory per tracked session. Sizes: BENCH_DETECTORS_EVENTS (default
 * 20 000), BENCH_DETECTORS_SESSIONS (default 100 000).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import type { Alert } from '../contracts/alert.ts';
import { partitionKeyOf, type McpEvent } from '../contracts/mcp-event.ts';
import { MAX_EVENT_VALUE_DEPTH, McpEventParser } from '../contracts/parse.ts';
import { engineOptionsOf, parseDetectorsConfig } from '../detectors/config.ts';
import { DetectionEngine } from '../detectors/engine.ts';
import { RULES } from '../detectors/rules/index.ts';
import { startDetectors } from '../detectors/runtime.ts';
import { anyRuleWants, holdsForEventTime, rulesByScope } from '../detectors/scopes.ts';
import { FileSink } from '../detectors/sinks/file.ts';
import type { AlertSink } from '../detectors/sinks/types.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { formatNumber, measure, printTable, quantile, type BenchContext, type GoalRow } from './harness.ts';

const eventCount = Number(process.env.BENCH_DETECTORS_EVENTS ?? 20_000);
const sessionCounts = (process.env.BENCH_DETECTORS_SESSIONS ?? '100000').split(',').map(Number);
const partitions = 3;
const runTimeoutMs = 180_000;
const silent = pino({ level: 'silent' });

/**
 * Sessions of four calls by one principal over 10 tools; every tenth session is then used by another. Last, a
 * call per server two minutes of event time later (`last-<n>`), so the server engines, which read several
 * partitions and hold events for the allowed lateness, run what they hold before the clock stops; these last
 * calls themselves stay held until the engines idle.
 */
function workload(count: number, start = Date.UTC(2026, 0, 1)): McpEvent[] {
  const events: McpEvent[] = [];
  for (let index = 0; events.length < count - 5; index += 1) {
    const session = Math.floor(index / 4);
    const reused = session % 10 === 0 && index % 4 === 3;
    events.push({
      schemaVersion: 1,
      kind: 'call',
      eventId: `e${index}`,
      time: new Date(start + index * 10).toISOString(),
      server: { name: `server-${session % 5}` },
      sessionId: `session-${session}`,
      principal: { id: reused ? `user-${(session + 1) % 200}` : `user-${session % 200}`, pseudonymous: true },
      method: 'tools/call',
      tool: `tool_${index % 10}`,
      outcome: 'ok',
      durationMs: 4,
    });
  }
  const last = start + count * 10 + 120_000;
  for (let server = 0; server < 5; server += 1) {
    events.push({
      ...events[server * 4]!,
      eventId: `last-${server}`,
      time: new Date(last).toISOString(),
      sessionId: `last-${server}`,
    });
  }
  return events;
}

export default async function detectorsBench({ brokers, reportGoal }: BenchContext): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-detectors', brokers, logLevel: logLevel.ERROR });
  const transport = new KafkaTransport(
    { brokers, clientId: 'bench-detectors', consumer: { maxWaitTimeMs: 100 } },
    { logger: silent },
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-bench-detectors-'));
  const admin = kafka.admin();
  await admin.connect();
  const topics: string[] = [];
  try {
    const events = workload(eventCount);
    const filled = `bench.detectors.${randomUUID().slice(0, 8)}`;
    await admin.createTopics({ topics: [{ topic: filled, numPartitions: partitions }], waitForLeaders: true });
    topics.push(filled);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let start = 0; start < events.length; start += 1000) {
      const slice = events.slice(start, start + 1000);
      await producer.send({
        topic: filled,
        acks: -1,
        messages: slice.map((event) => ({ key: partitionKeyOf(event), value: JSON.stringify(event) })),
      });
    }
    await producer.disconnect();

    // CPU µs per event of every run, warm-ups included (dropped below).
    const baselineCpu: number[] = [];
    const detectorsCpu: number[] = [];
    const baseline = await measure({
      name: 'kafkajs consume + JSON.parse',
      runs: 3,
      warmups: 1,
      run: async () => {
        const result = await drainAndParse(kafka, filled);
        baselineCpu.push(result.cpuMicros / result.units);
        return result;
      },
    });
    // The events metric counts an event once per scope engine it runs through. The clock stops when every event
    // has run but the last calls in engines that hold them: those run when the engines idle, a wait of
    // `idlePartitionMs` that measures the idle timer, not throughput.
    const scoped = [...rulesByScope(parseDetectorsConfig({}, RULES).rules)];
    const engineEvents = events.reduce(
      (sum, event) =>
        sum +
        scoped.filter(
          ([scope, rules]) =>
            anyRuleWants(rules, event) && !(event.eventId.startsWith('last-') && holdsForEventTime(scope, partitions)),
        ).length,
      0,
    );
    const detectors = await measure({
      name: `detectors, ${RULES.length} rules`,
      runs: 3,
      warmups: 0,
      run: async () => {
        // An engine that still holds events after the last ones idles after a second, not the production 30 s.
        const config = parseDetectorsConfig(
          { groupId: `bench.detectors.${randomUUID().slice(0, 8)}`, engine: { idlePartitionMs: 1_000 } },
          RULES,
        );
        const sink = new FileSink(path.join(dir, `${randomUUID()}.jsonl`));
        const stateTopic = `bench.detectors.state.${randomUUID().slice(0, 8)}`;
        const dlq = `bench.detectors.dlq.${randomUUID().slice(0, 8)}`;
        const repartitionPrefix = `bench.detectors.repartition.${randomUUID().slice(0, 8)}`;
        topics.push(
          stateTopic,
          dlq,
          ...['session', 'server', 'global'].map((scope) => `${repartitionPrefix}.${scope}.v1`),
        );
        const runtime = await startDetectors({
          transport,
          config,
          sinks: [sink],
          logger: silent,
          topics: { events: filled, detectorState: stateTopic, eventsDeadLetter: dlq, repartitionPrefix },
        });
        try {
          let startedAt: number | undefined;
          let cpuAtStart: NodeJS.CpuUsage | undefined;
          const deadline = Date.now() + runTimeoutMs;
          for (;;) {
            if (startedAt === undefined && runtime.assignedPartitions().length > 0) {
              startedAt = performance.now();
              cpuAtStart = process.cpuUsage();
            }
            const done = (await runtime.metrics.events.get()).values[0]?.value ?? 0;
            if (done >= engineEvents) {
              detectorsCpu.push(cpuMicros(process.cpuUsage(cpuAtStart)) / events.length);
              break;
            }
            if (Date.now() > deadline) throw new Error(`detectors ran ${done} of ${events.length} events in time`);
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          return { units: events.length, timedMs: performance.now() - (startedAt ?? performance.now()) };
        } finally {
          await runtime.close();
        }
      },
    });
    printTable(
      `detectors from Kafka, ${eventCount.toLocaleString('en-US')} events, ${partitions} partitions, one process (≈ one core)`,
      [baseline, detectors],
      { baseline: baseline.name, unit: 'events/s' },
    );

    const baselineCpuMedian = quantile(baselineCpu.slice(1), 0.5);
    const detectorsCpuMedian = quantile(detectorsCpu, 0.5);
    const rulesCpuMedian = rulesOnParsedRecords(events);
    const atBest = baselineCpuMedian + rulesCpuMedian;
    console.log('| CPU time of this process | median µs/event | vs kafkajs consume + JSON.parse |');
    console.log('|---|---:|---:|');
    console.log(`| kafkajs consume + JSON.parse | ${baselineCpuMedian.toFixed(1)} | 1.00× (baseline) |`);
    console.log(
      `| detectors, ${RULES.length} rules | ${detectorsCpuMedian.toFixed(1)} | ${(baselineCpuMedian / detectorsCpuMedian).toFixed(2)}× |`,
    );
    console.log(
      `| the rules on parsed records, no Kafka: event parser + one engine with every rule (as replay) | ${rulesCpuMedian.toFixed(1)} | |`,
    );
    console.log(
      `| at best from Kafka: the baseline, then the rules, nothing else | ${atBest.toFixed(1)} | ${(baselineCpuMedian / atBest).toFixed(2)}× |\n`,
    );

    const detectorsRate = quantile(detectors.samples, 0.5);
    const consumeRate = quantile(baseline.samples, 0.5);
    reportGoal({
      figure: `detectors, ${RULES.length} rules, from Kafka`,
      measured: `${formatNumber(detectorsRate)} events/s`,
      baseline: `kafkajs consume + \`JSON.parse\`: ${formatNumber(consumeRate)}`,
      ratio: `${(detectorsRate / consumeRate).toFixed(2)}×`,
      goal: '≥ 0.5×',
      met: detectorsRate / consumeRate >= 0.5,
    });

    await latency(transport, topics);
    for (const row of memory()) reportGoal(row);
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * CPU µs per event of what the detectors do with a record beyond the baseline's consume + `JSON.parse`: the event
 * parser and one engine with every rule, as replay runs them (median of 5 runs after a warm-up; each run parses
 * its records first, untimed, as the parser flattens what it is given). The baseline plus this bounds what the
 * detectors from Kafka can reach.
 */
function rulesOnParsedRecords(events: readonly McpEvent[]): number {
  const records = events.map((event) => JSON.stringify(event));
  const options = engineOptionsOf(parseDetectorsConfig({}, RULES));
  const perEvent: number[] = [];
  for (let run = 0; run < 6; run += 1) {
    const json = records.map((record) => JSON.parse(record) as unknown);
    const parser = new McpEventParser(MAX_EVENT_VALUE_DEPTH);
    const engine = new DetectionEngine(options);
    const before = process.cpuUsage();
    for (const value of json) {
      const parsed = parser.parse(value);
      if (!parsed.ok) throw new Error('a bench event did not parse');
      engine.process(parsed.value);
    }
    engine.takeChanges();
    if (run > 0) perEvent.push(cpuMicros(process.cpuUsage(before)) / records.length);
  }
  return quantile(perEvent, 0.5);
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

async function drainAndParse(
  kafka: Kafka,
  topic: string,
): Promise<{ units: number; timedMs: number; cpuMicros: number }> {
  const consumer = kafka.consumer({
    groupId: `bench.detectors.baseline.${randomUUID().slice(0, 8)}`,
    maxWaitTimeInMs: 100,
  });
  let joinedAt: number | undefined;
  let cpuAtJoin: NodeJS.CpuUsage | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt ??= performance.now();
    cpuAtJoin ??= process.cpuUsage();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let received = 0;
    let parsed = 0;
    let cpuUsed = 0;
    const finishedAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`baseline drained ${received} records in time`)), runTimeoutMs);
      consumer
        .run({
          eachBatch: ({ batch }) => {
            for (const message of batch.messages) {
              const value = JSON.parse(message.value!.toString('utf8')) as { eventId?: string };
              if (value.eventId !== undefined) parsed += 1;
            }
            received += batch.messages.length;
            if (received >= eventCount) {
              clearTimeout(timer);
              cpuUsed = cpuMicros(process.cpuUsage(cpuAtJoin));
              resolve(performance.now());
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    if (parsed !== received) throw new Error('baseline parsed fewer records than it received');
    return { units: received, timedMs: finishedAt - (joinedAt ?? finishedAt), cpuMicros: cpuUsed };
  } finally {
    await consumer.disconnect();
  }
}

/** Alerts per second at a fixed rate; latency = sink confirmation time − send time of the completing event. */
async function latency(transport: KafkaTransport, topics: string[]): Promise<void> {
  const ratePerSecond = 200;
  const seconds = 10;
  const events = `bench.detectors.latency.${randomUUID().slice(0, 8)}`;
  const state = `${events}.state`;
  const dlq = `${events}.dlq`;
  topics.push(events, state, dlq);
  await transport.ensureTopics([{ topic: events, partitions }]);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const timing: AlertSink = {
    name: 'timing',
    deliver(alerts: readonly Alert[]) {
      const now = performance.now();
      for (const alert of alerts) {
        const sent = sentAt.get(alert.entities.session ?? '');
        if (sent !== undefined && alert.ruleId === 'session-reuse-across-users') latencies.push(now - sent);
      }
      return Promise.resolve();
    },
    health: () => Promise.resolve({ healthy: true }),
    close: () => Promise.resolve(),
  };
  const config = parseDetectorsConfig({ groupId: `${events}.group` }, RULES);
  const runtime = await startDetectors({
    transport,
    config,
    sinks: [timing],
    logger: silent,
    topics: { events, detectorState: state, eventsDeadLetter: dlq },
  });
  const producer = await transport.producer();
  try {
    for (let wait = 0; runtime.assignedPartitions().length === 0 && wait < 600; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const perTick = ratePerSecond / 10; // one send every 100 ms, alternating the two uses of a session
    const start = Date.UTC(2026, 1, 1);
    let sequence = 0;
    for (let tick = 0; tick < seconds * 10; tick += 1) {
      const tickStarted = performance.now();
      const batch: McpEvent[] = [];
      for (let index = 0; index < perTick; index += 1, sequence += 1) {
        const session = `latency-${Math.floor(sequence / 2)}`;
        batch.push({
          schemaVersion: 1,
          kind: 'call',
          eventId: `l${sequence}`,
          time: new Date(start + sequence * 5).toISOString(),
          server: { name: 'files' },
          sessionId: session,
          principal: { id: sequence % 2 === 0 ? 'alice' : 'bob', pseudonymous: true },
          method: 'tools/call',
          tool: 'read_file',
          outcome: 'ok',
          durationMs: 1,
        });
      }
      const sent = performance.now();
      for (const event of batch) if (event.principal?.id === 'bob') sentAt.set(event.sessionId!, sent);
      await producer.send(
        events,
        batch.map((event) => ({ key: partitionKeyOf(event), value: JSON.stringify(event) })),
      );
      const elapsed = performance.now() - tickStarted;
      if (elapsed < 100) await new Promise((resolve) => setTimeout(resolve, 100 - elapsed));
    }
    const expected = sentAt.size;
    for (let wait = 0; latencies.length < expected && wait < 300; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ms = (value: number): string => value.toFixed(1);
    console.log(`### produce → alert latency, ${ratePerSecond} events/s for ${seconds} s, ${RULES.length} rules\n`);
    console.log('| alerts expected | alerts timed | p50 ms | p99 ms | max ms |');
    console.log('|---:|---:|---:|---:|---:|');
    console.log(
      `| ${expected} | ${latencies.length} | ${ms(quantile(latencies, 0.5))} | ${ms(quantile(latencies, 0.99))} | ${ms(Math.max(...latencies))} |\n`,
    );
  } finally {
    await producer.close();
    await runtime.close();
  }
}

/** Heap held by the engine's state for N distinct sessions (one call each), full catalog; a goal row per size. */
function memory(): GoalRow[] {
  const rows: GoalRow[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  console.log(
    `### engine memory per tracked session, ${RULES.length} rules${gc === undefined ? ' (run with --expose-gc for exact numbers)' : ''}\n`,
  );
  console.log('| sessions | heap delta MiB | bytes per session | state keys | events/s (engine only) |');
  console.log('|---:|---:|---:|---:|---:|');
  // call-rate-anomaly keeps per-server counters (bounded by its maxEntities), not per-session state, and it
  // dominates engine time; it is left out here so the table measures what grows with sessions.
  const config = parseDetectorsConfig({ rules: { 'call-rate-anomaly': { enabled: false } } }, RULES);
  for (const sessions of sessionCounts) {
    gc?.();
    const before = process.memoryUsage().heapUsed;
    const engine = new DetectionEngine(engineOptionsOf(config));
    const started = performance.now();
    for (let index = 0; index < sessions; index += 1) {
      engine.process({
        schemaVersion: 1,
        kind: 'call',
        eventId: `m${index}`,
        time: new Date(Date.UTC(2026, 2, 1) + index).toISOString(),
        server: { name: `server-${index % 5}` },
        sessionId: `memory-session-${index}`,
        principal: { id: `user-${index % 1000}`, pseudonymous: true },
        method: 'tools/call',
        tool: `tool_${index % 10}`,
        outcome: 'ok',
        durationMs: 1,
      });
    }
    const rate = sessions / ((performance.now() - started) / 1000);
    engine.takeChanges();
    gc?.();
    const delta = process.memoryUsage().heapUsed - before;
    const keys = Object.values(engine.stateSize()).reduce((sum, count) => sum + count, 0);
    console.log(
      `| ${sessions.toLocaleString('en-US')} | ${(delta / 1_048_576).toFixed(1)} | ${Math.round(delta / sessions)} | ${keys.toLocaleString('en-US')} | ${Math.round(rate).toLocaleString('en-US')} |`,
    );
    rows.push({
      figure: `engine memory per tracked session (${sessions.toLocaleString('en-US')}, ${gc === undefined ? 'without' : 'with'} \`--expose-gc\`)`,
      measured: `${formatNumber(delta / sessions)} B`,
      baseline: '—',
      ratio: '—',
      goal: '≤ 512 B',
      met: delta / sessions <= 512,
    });
  }
  console.log('');
  return rows;
}
