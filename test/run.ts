/**
 * The suite runner behind `npm test`: finds every `*.test.ts`, starts ONE real Kafka broker for the run,
 * runs the files with node:test with KAFKA_BROKERS set, stops the broker and exits with node:test's exit code.
 * Node 20's `--test` takes no globs, hence the explicit file list.
 *
 *   tsx test/run.ts                  every test file
 *   tsx test/run.ts transport kafka  only files whose path contains one of the words
 *   tsx test/run.ts --unit           only tests beside the code (not under test/), with no broker: a unit
 *                                    test that reaches for Kafka fails loudly there, it is not skipped
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startKafkaBroker, type KafkaBroker } from '../deploy/kafka/broker.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const skippedDirectories = new Set(['node_modules', 'dist', '.kafka', '.git', 'test-artifacts']);
const signalExitCodes = { SIGINT: 130, SIGTERM: 143 } as const;

/** Repo-relative paths of every `*.test.ts`, sorted so runs are reproducible. */
export async function findTestFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (directory: string): Promise<void> => {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!skippedDirectories.has(entry.name)) await walk(path.join(directory, entry.name));
      } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
        found.push(path.relative(root, path.join(directory, entry.name)));
      }
    }
  };
  await walk(root);
  return found.sort();
}

/** Keeps files whose path contains any filter (all files when there is none); `unit` keeps those outside test/. */
export function selectTestFiles(files: string[], filters: string[], unit: boolean): string[] {
  return files.filter(
    (file) =>
      (!unit || !file.startsWith(`test${path.sep}`)) &&
      (filters.length === 0 || filters.some((filter) => file.includes(filter))),
  );
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  const { values, positionals } = parseArgs({
    options: { unit: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log('Usage: tsx test/run.ts [--unit] [filter...]   (a filter keeps files whose path contains it)');
    return 0;
  }
  const files = selectTestFiles(await findTestFiles(repoRoot), positionals, values.unit);
  if (files.length === 0) {
    console.error(`No *.test.ts file matches ${positionals.map((f) => JSON.stringify(f)).join(', ') || '(all)'}.`);
    return 1;
  }

  let broker: KafkaBroker | undefined;
  let interrupted: keyof typeof signalExitCodes | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Handling the signals ourselves lets the broker stop cleanly after the tests were told to stop.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted ??= signal;
      testProcess?.kill(signal);
    });
  }

  if (values.unit) {
    delete env.KAFKA_BROKERS;
    console.log(`Running ${files.length} unit test file(s) without a Kafka broker.`);
  } else {
    try {
      broker = await startKafkaBroker();
    } catch (error) {
      console.error(
        `Kafka broker could not start, so no test ran:\n${error instanceof Error ? error.message : String(error)}`,
      );
      return 1;
    }
    if (interrupted !== undefined) {
      await broker.stop();
      return signalExitCodes[interrupted];
    }
    env.KAFKA_BROKERS = broker.brokers.join(',');
    console.log(`Kafka broker ready at ${env.KAFKA_BROKERS} in ${broker.startupMs} ms (log: ${broker.logFile})`);
    console.log(`Running ${files.length} test file(s).`);
  }

  let exitCode: number;
  try {
    exitCode = await runNodeTest(files, env);
  } finally {
    await broker?.stop();
  }
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  if (interrupted !== undefined) {
    console.log(`Test run interrupted by ${interrupted} after ${seconds} s; broker stopped.`);
    return signalExitCodes[interrupted];
  }
  console.log(`Test run finished in ${seconds} s with exit code ${exitCode}.`);
  return exitCode;
}

let testProcess: ChildProcess | undefined;

/**
 * A run that outlasts this is stopped and fails: `node --test` waits for every file's process to exit, so a
 * handle a test leaves open (a server, a child process) would otherwise hang it. `--test-force-exit` is not
 * the answer: it drops already-reported results of a file's tail (nodejs/node#64833), so counts would lie.
 */
const runTimeoutMs = Number(process.env.MCPWATCH_TEST_TIMEOUT_MINUTES ?? 60) * 60_000;

function runNodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
    // Its own process group, so that a stuck run is stopped with every test file's process.
    { cwd: repoRoot, env, stdio: 'inherit', detached: true },
  );
  testProcess = child;
  const watchdog = setTimeout(() => {
    console.error(
      `The test run did not finish within ${runTimeoutMs / 60_000} min; stopping it. A test file may leave a ` +
        'handle open (node --test waits for each file process to exit).',
    );
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, runTimeoutMs);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      clearTimeout(watchdog);
      console.error(`Could not run node --test: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(watchdog);
      resolve(code ?? (signal === null ? 1 : 128 + constants.signals[signal]));
    });
  });
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
