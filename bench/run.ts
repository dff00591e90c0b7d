/**
 * Runs the benchmarks: starts one real Kafka broker, then every `bench/*.bench.ts` (or those whose name
 * contains one of the arguments) in turn. Each exports a default `(context: BenchContext) => Promise<void>`
 * that prints its own tables. Exits non-zero if any benchmark threw.
 *
 *   tsx --expose-gc bench/run.ts                 all benchmarks (`npm run bench`)
 *   tsx --expose-gc bench/run.ts kafka-baseline  a subset
 */
import { readdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startKafkaBroker } from '../deploy/kafka/broker.ts';
import { formatGoalTable, type BenchContext, type GoalRow } from './harness.ts';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

type Bench = (context: BenchContext) => Promise<void>;

async function main(filters: string[]): Promise<number> {
  const startedAt = performance.now();
  const files = (await readdir(benchDir))
    .filter((file) => file.endsWith('.bench.ts'))
    .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
    .sort();
  if (files.length === 0) {
    console.error(`No bench/*.bench.ts matches ${filters.map((f) => JSON.stringify(f)).join(', ') || '(all)'}.`);
    return 1;
  }

  const broker = await startKafkaBroker();
  let stopping: Promise<void> | undefined;
  const stopOnSignal = (signal: NodeJS.Signals) => {
    stopping ??= broker.stop().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', stopOnSignal);
  process.on('SIGTERM', stopOnSignal);
  console.log(`Kafka broker ready at ${broker.brokers.join(',')} in ${broker.startupMs} ms`);
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}`);
  console.log(
    `Load average at the start (1, 5, 15 min): ${loadavg()
      .map((value) => value.toFixed(2))
      .join(', ')}\n`,
  );

  let failed = 0;
  const goals: GoalRow[] = [];
  const context: BenchContext = { brokers: broker.brokers, reportGoal: (row) => goals.push(row) };
  try {
    for (const file of files) {
      console.log(`## ${file}\n`);
      const benchStartedAt = performance.now();
      try {
        const module = (await import(pathToFileURL(path.join(benchDir, file)).href)) as { default?: unknown };
        if (typeof module.default !== 'function') throw new TypeError(`${file} has no default export function`);
        await (module.default as Bench)(context);
        console.log(`(${file} took ${((performance.now() - benchStartedAt) / 1000).toFixed(1)} s)\n`);
      } catch (error) {
        failed++;
        console.error(`${file} failed:`, error);
      }
    }
  } finally {
    await broker.stop();
  }
  if (goals.length > 0) {
    const load = loadavg().map((value) => value.toFixed(2));
    console.log(
      `## Goals\n\n${formatGoalTable(goals)}\n\nLoad average at the end (1, 5, 15 min): ${load.join(', ')}\n`,
    );
  }
  console.log(`Benchmarks finished in ${((performance.now() - startedAt) / 1000).toFixed(1)} s; ${failed} failed.`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
