/**
 * Offline replay through the whole rule catalog against the floor of reading the same file line by line and
 * `JSON.parse`-ing each line, in the same run. The recording mixes tool calls over many sessions with 12.6 %
 * tool-catalog events built from the real definitions of the benign corpus (servers re-serving their catalog,
 * now and then with one description changed). Size: BENCH_REPLAY_EVENTS (default 200 000). Units: events/s.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { replayFile } from '../detectors/replay.ts';
import { RULES } from '../detectors/rules/index.ts';
import { measure, printTable, quantile, type BenchContext } from './harness.ts';

const eventCount = Number(process.env.BENCH_REPLAY_EVENTS ?? 200_000);
const CATALOG_SHARE = 0.126;
const corpusDir = fileURLToPath(new URL('../detectors/rules/fixtures/benign-corpus/', import.meta.url));

type Json = Record<string, unknown>;

async function corpusCatalogs(): Promise<Json[]> {
  const catalogs: Json[] = [];
  for (const file of (await readdir(corpusDir)).filter((name) => name.endsWith('.jsonl')).sort()) {
    for (const line of (await readFile(path.join(corpusDir, file), 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as Json;
      if (event['kind'] === 'tool-catalog') catalogs.push(event);
    }
  }
  return catalogs;
}

/** The recording: one JSON event per line, in event-time order. */
async function recording(file: string): Promise<void> {
  const catalogs = await corpusCatalogs();
  const start = Date.UTC(2026, 0, 1);
  const lines: string[] = [];
  let catalogsWritten = 0;
  for (let index = 0; index < eventCount; index += 1) {
    const time = new Date(start + index * 20).toISOString();
    const session = Math.floor(index / 8);
    const envelope = {
      schemaVersion: 1,
      eventId: `replay-${index}`,
      time,
      sessionId: `session-${session}`,
      principal: { id: `user-${session % 500}`, pseudonymous: true },
      transport: 'streamable-http',
    };
    if (catalogsWritten < (index + 1) * CATALOG_SHARE) {
      const catalog = catalogs[catalogsWritten % catalogs.length]!;
      const tools = (catalog['tools'] as Json[]).map((tool, position) =>
        // Every 50th re-serving changes one description: drift the rules must look at, most catalogs unchanged.
        catalogsWritten % 50 === 49 && position === 0
          ? { ...tool, description: `${String(tool['description'])} (v2)` }
          : tool,
      );
      lines.push(JSON.stringify({ ...catalog, ...envelope, tools }));
      catalogsWritten += 1;
      continue;
    }
    lines.push(
      JSON.stringify({
        ...envelope,
        kind: 'call',
        server: { name: `server-${session % 20}` },
        method: 'tools/call',
        requestId: String(index),
        tool: `tool_${index % 12}`,
        outcome: index % 97 === 0 ? 'tool-error' : 'ok',
        durationMs: 3 + (index % 7),
      }),
    );
  }
  await writeFile(file, lines.join('\n') + '\n');
}

/** CPU time (user + system) of one run, in ms: the replay is CPU-bound and single-threaded. */
async function cpuMs(work: () => Promise<number>): Promise<{ units: number; timedMs: number }> {
  const before = process.cpuUsage();
  const units = await work();
  const used = process.cpuUsage(before);
  return { units, timedMs: (used.user + used.system) / 1000 };
}

export default async function replayBench({ reportGoal }: BenchContext): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-bench-replay-'));
  try {
    const file = path.join(dir, 'recording.jsonl');
    await recording(file);
    const config = parseDetectorsConfig({}, RULES);
    const baseline = await measure({
      name: 'read + JSON.parse',
      runs: 3,
      run: () =>
        cpuMs(async () => {
          let parsed = 0;
          for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
            if (line !== '') parsed += JSON.parse(line) === null ? 0 : 1;
          }
          return parsed;
        }),
    });
    const replay = await measure({
      name: `mcpwatch replay, ${RULES.length} rules`,
      runs: 3,
      run: () => cpuMs(async () => (await replayFile(file, { config, sinks: [], progress: false })).events),
    });
    printTable(
      `Replay, ${eventCount.toLocaleString('en-US')} mixed events (12.6 % catalogs), CPU time`,
      [baseline, replay],
      {
        baseline: 'read + JSON.parse',
        unit: 'events/s of CPU',
      },
    );
    const cpuSeconds = (measurement: typeof replay) => eventCount / quantile(measurement.samples, 0.5);
    const ratio = cpuSeconds(baseline) / cpuSeconds(replay);
    reportGoal({
      figure: `replay, mixed ${eventCount.toLocaleString('en-US')} events (12.6 % catalogs)`,
      measured: `${cpuSeconds(replay).toFixed(1)} s CPU`,
      baseline: `read + \`JSON.parse\`: ${cpuSeconds(baseline).toFixed(1)} s`,
      ratio: `${ratio.toFixed(2)}×`,
      goal: '≥ 0.3×',
      met: ratio >= 0.3,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
