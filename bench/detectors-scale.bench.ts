/**
 * The detectors scaled out: events/s through the whole catalog with one and two instances (child processes,
 * one core each) on a 4-partition events topic, and the cost of the repartition hop: one instance on a
 * 1-partition events topic (every scope key lands on partition 0, nothing is re-keyed) against the same on 4
 * partitions (events of the server scope mostly hop), once holding events for event-time order (the default
 * allowed lateness) and once not (none allowed). All in one run, against the same pre-filled records.
 * The clock runs from the instances being started until the group has committed every events and repartition
 * record, so it includes group join and restore. Size: BENCH_SCALE_EVENTS (default 30 000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { partitionKeyOf, type McpEvent } from '../contracts/mcp-event.ts';
import { engineOptionsOf, parseDetectorsConfig } from '../detectors/config.ts';
import { DetectionEngine } from '../detectors/engine.ts';
import { RULES } from '../detectors/rules/index.ts';
import { repartitionTopicOf, rulesByScope } from '../detectors/scopes.ts';
import { measure, printTable, type BenchContext, type Measurement } from './harness.ts';

const eventCount = Number(process.env.BENCH_SCALE_EVENTS ?? 30_000);
const instancePath = path.join(import.meta.dirname, 'detectors-instance.ts');
const runTimeoutMs = 240_000;

/**
 * Sessions of four calls over 10 tools, 200 principals, 20 servers; each server lists its tools once. Last, a
 * call and a listing per server two minutes of event time later, so that engines holding events for the
 * allowed lateness (on several partitions) run them all before the last commit.
 */
function workload(count: number, start = Date.UTC(2026, 0, 1)): McpEvent[] {
  const events: McpEvent[] = [];
  const catalogs = (time: number, round: string): void => {
    for (let server = 0; server < 20; server += 1) events.push(catalogOf(server, time, round));
  };
  catalogs(start, '');
  for (let index = 0; events.length < count - 40; index += 1) events.push(callOf(index, start + 1000 + index * 10));
  const last = start + 1000 + count * 10 + 120_000;
  catalogs(last, '-last');
  for (let server = 0; server < 20; server += 1)
    events.push({ ...callOf(server * 4, last), eventId: `last-${server}` });
  return events;
}

function callOf(index: number, time: number): McpEvent {
  const session = Math.floor(index / 4);
  return {
    schemaVersion: 1,
    kind: 'call',
    eventId: `e${index}`,
    time: new Date(time).toISOString(),
    server: { name: `server-${session % 20}` },
    sessionId: `session-${session}`,
    principal: { id: `user-${session % 200}`, pseudonymous: true },
    method: 'tools/call',
    tool: `tool_${session % 20}_${index % 10}`,
    outcome: 'ok',
    durationMs: 4,
  };
}

function catalogOf(server: number, time: number, round: string): McpEvent {
  return {
    schemaVersion: 1,
    kind: 'tool-catalog',
    eventId: `catalog-${server}${round}`,
    time: new Date(time).toISOString(),
    server: { name: `server-${server}` },
    trigger: 'tools/list',
    tools: Array.from({ length: 10 }, (_, tool) => ({
      name: `tool_${server}_${tool}`,
      description: 'Reads a thing.',
      hash: `sha256:${String(server * 100 + tool).padStart(64, '0')}`,
    })),
    listHash: `sha256:${String(server).padStart(64, '0')}`,
  } as unknown as McpEvent;
}

export default async function detectorsScaleBench({ brokers }: BenchContext): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-detectors-scale', brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-bench-scale-'));
  const created: string[] = [];
  const scopes = [...rulesByScope(parseDetectorsConfig({}, RULES).rules).keys()];
  try {
    const events = workload(eventCount);
    const filled = new Map<number, string>();
    for (const partitions of [1, 4]) {
      const topic = `bench.scale.events.${partitions}.${randomUUID().slice(0, 8)}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      created.push(topic);
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      for (let start = 0; start < events.length; start += 2000) {
        await producer.send({
          topic,
          acks: -1,
          messages: events
            .slice(start, start + 2000)
            .map((event) => ({ key: partitionKeyOf(event), value: JSON.stringify(event) })),
        });
      }
      await producer.disconnect();
      filled.set(partitions, topic);
    }

    const run =
      (partitions: number, instances: number, engine: object = {}) =>
      async () => {
        const events = filled.get(partitions)!;
        const run = randomUUID().slice(0, 8);
        const topics = {
          events,
          detectorState: `bench.scale.state.${run}`,
          eventsDeadLetter: `bench.scale.dlq.${run}`,
          repartitionPrefix: `bench.scale.repartition.${run}`,
        };
        created.push(topics.detectorState, topics.eventsDeadLetter);
        created.push(...scopes.map((scope) => repartitionTopicOf(topics.repartitionPrefix, scope)));
        const groupId = `bench.scale.group.${run}`;
        const startedAt = performance.now();
        const children: ChildProcess[] = [];
        try {
          for (let index = 0; index < instances; index += 1) {
            children.push(startInstance(brokers, topics, groupId, path.join(dir, `${run}-${index}.jsonl`), engine));
            // The first creates the topics; the others join once it is up.
            if (index === 0) await readyLine(children[0]!);
          }
          await committedEverything(admin, groupId, [
            events,
            ...scopes.map((scope) => repartitionTopicOf(topics.repartitionPrefix, scope)),
          ]);
          return { units: eventCount, timedMs: performance.now() - startedAt };
        } finally {
          await Promise.all(children.map(stop));
        }
      };
    const single = await measure({ name: '1 instance, 1 partition (no hop)', runs: 3, warmups: 0, run: run(1, 1) });
    const hop = await measure({ name: '1 instance, 4 partitions (hop)', runs: 3, warmups: 0, run: run(4, 1) });
    const unheld = await measure({
      name: '1 instance, 4 partitions (hop), nothing held',
      runs: 3,
      warmups: 0,
      run: run(4, 1, { allowedLatenessMs: 0 }),
    });
    const two = await measure({ name: '2 instances, 4 partitions (hop)', runs: 3, warmups: 0, run: run(4, 2) });
    printTable(
      `detectors scaled out, ${eventCount.toLocaleString('en-US')} events, ${RULES.length} rules, scopes ${scopes.join('/')}`,
      [single, hop, unheld, two],
      { baseline: single.name, unit: 'events/s' },
    );
    await globalScopeCapacity();
  } finally {
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

function startInstance(
  brokers: string[],
  topics: object,
  groupId: string,
  alertsFile: string,
  engine: object,
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', instancePath], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      BENCH_TOPICS: JSON.stringify(topics),
      BENCH_GROUP: groupId,
      BENCH_ALERTS_FILE: alertsFile,
      BENCH_ENGINE: JSON.stringify(engine),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function readyLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bench instance exited (${String(code)}) before it was ready`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Polls until the group committed up to the end of every partition of `topics` (events first). */
async function committedEverything(admin: Admin, groupId: string, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + runTimeoutMs;
  for (;;) {
    let behind = 0;
    for (const topic of topics) {
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic).catch(() => [{ partition: 0, high: '1' }]),
        admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => [{ topic, partitions: [] }]),
      ]);
      const done = new Map(committed[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
      for (const end of ends) {
        // A partition never committed reads -1; an empty one needs no commit.
        const high = BigInt(end.high);
        if (high > 0n && (done.get(end.partition) ?? -1n) < high) behind += 1;
      }
    }
    if (behind === 0) return;
    if (Date.now() > deadline) throw new Error(`${behind} partitions not committed in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * What one engine of the `global` scope (one partition for the deployment) runs: tool catalogs through the
 * global rules, against the `server` rules over the same catalogs (an engine of which every partition has), in
 * process, no Kafka. 1,000 servers listing 10 tools each, five times, tool names shared in groups of 20 servers.
 */
async function globalScopeCapacity(): Promise<void> {
  const config = parseDetectorsConfig({}, RULES);
  const byScope = rulesByScope(config.rules);
  const start = Date.UTC(2026, 0, 1);
  const listings: McpEvent[] = [];
  for (let round = 0; round < 5; round += 1) {
    for (let server = 0; server < 1000; server += 1) {
      const catalog = catalogOf(server, start + (round * 1000 + server) * 100, `-${round}`);
      for (const [index, tool] of (catalog as unknown as { tools: { name: string }[] }).tools.entries())
        tool.name = `tool_${server % 50}_${index}`;
      listings.push(catalog);
    }
  }
  const row = (name: string, scope: 'global' | 'server'): Promise<Measurement> =>
    measure({
      name,
      runs: 5,
      run: () => {
        const engine = new DetectionEngine({ ...engineOptionsOf(config), rules: byScope.get(scope) ?? [] });
        for (const listing of listings) engine.process(listing);
        return Promise.resolve({ units: listings.length });
      },
    });
  const server = await row('server-scope rules', 'server');
  const global = await row('global-scope rules (tool shadowing)', 'global');
  printTable(
    `one engine over 5,000 tool catalogs of 1,000 servers, in process (one untimed warm-up)`,
    [server, global],
    { baseline: server.name, unit: 'catalogs/s' },
  );
}
