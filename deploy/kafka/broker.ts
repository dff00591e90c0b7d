/**
 * The real Kafka broker for development and tests: Apache Kafka 4.3.1 from Maven Central, one KRaft node that
 * is broker and controller at once, on loopback ports. `startKafkaBroker()` resolves when producers
 * (idempotent and transactional) and consumer groups work, not merely when the port is open.
 *
 * Run as a script (`npx tsx deploy/kafka/broker.ts`) it starts one broker for a developer and prints its address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { McpwatchError } from '../../contracts/errors.ts';
import { installRequestQueueScheduler } from '../../transport/kafka/request-queue.ts';

const recipeDir = path.dirname(fileURLToPath(import.meta.url));
/** Gitignored; holds the resolved classpath keyed by the pom's hash, so only the first start runs Maven. */
const cacheDir = path.resolve(recipeDir, '../../.kafka');
const host = '127.0.0.1';

const kafkaBrokerOptionsSchema = z.strictObject({
  /** Port of the Kafka (PLAINTEXT) listener; a free one when absent. */
  port: z.int().min(1).max(65_535).optional(),
  /** Port of the KRaft controller listener; a free one when absent. */
  controllerPort: z.int().min(1).max(65_535).optional(),
  /**
   * Log segments, `server.properties` and `broker.log`. A directory formatted earlier is reused as it is.
   * When absent: a fresh temporary directory that `stop()` removes.
   */
  dataDir: z.string().min(1).optional(),
  /** How long start and restart wait for producers and groups to work, in ms. */
  readyTimeoutMs: z.int().positive().default(90_000),
  /** How long stop waits for a clean (controlled) shutdown before SIGKILL, in ms. */
  stopTimeoutMs: z.int().positive().default(20_000),
  /** Extra JVM flags after the defaults (the later of two HotSpot flags wins), e.g. `['-Xmx1g']`. */
  jvmOptions: z.array(z.string()).default([]),
  /** Called when the JVM exits without `stop()` or `restart()` asking it to. */
  onUnexpectedExit: z
    .custom<(exitCode: number | null, logTail: string) => void>((v) => typeof v === 'function')
    .optional(),
});

export type KafkaBrokerOptions = z.input<typeof kafkaBrokerOptionsSchema>;

export interface KafkaBroker {
  /** Bootstrap addresses for clients, e.g. `['127.0.0.1:40123']`. */
  readonly brokers: string[];
  readonly dataDir: string;
  /** WARN-and-above broker log (see log4j2.xml). */
  readonly logFile: string;
  /** From spawning Java (after classpath resolution and storage format) until the broker was ready, in ms. */
  readonly startupMs: number;
  /** Controlled shutdown (SIGTERM, SIGKILL after `stopTimeoutMs`). Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts again on the same ports and data directory; resolves when ready again. */
  restart(): Promise<void>;
  /**
   * Freezes the broker (SIGSTOP): requests time out while connections stay open, as in a long GC pause; what
   * was sent meanwhile is still processed after `resume()`. For fault-injection tests.
   */
  pause(): void;
  /** Continues a paused broker (SIGCONT). */
  resume(): void;
}

export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const parsed = kafkaBrokerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new McpwatchError('CONFIG_INVALID', `startKafkaBroker: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const config = parsed.data;
  const classpath = await resolveClasspath();
  const ownsDataDir = config.dataDir === undefined;
  const dataDir = config.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'mcpwatch-kafka-')));
  await mkdir(dataDir, { recursive: true });
  const port = config.port ?? (await freePort());
  const controllerPort = config.controllerPort ?? (await freePort());
  const propertiesFile = path.join(dataDir, 'server.properties');
  await writeFile(propertiesFile, serverProperties({ dataDir, port, controllerPort }));
  await formatStorage(classpath, dataDir, propertiesFile);

  const address = `${host}:${port}`;
  const logFile = path.join(dataDir, 'broker.log');
  const launch = () =>
    launchBroker({
      classpath,
      jvmOptions: config.jvmOptions,
      dataDir,
      propertiesFile,
      address,
      logFile,
      readyTimeoutMs: config.readyTimeoutMs,
    });

  let running = await launch();
  let stopped: Promise<void> | undefined;
  /** Serializes stop and restart so that neither sees a half-started JVM; a failed restart does not block stop. */
  let pending: Promise<void> = Promise.resolve();
  const serialize = (operation: () => Promise<void>): Promise<void> =>
    (pending = pending.catch(() => undefined).then(operation));
  const watchUnexpectedExit = (jvm: RunningJvm) => {
    void jvm.exited.then((exitCode) => {
      if (!jvm.stopRequested) config.onUnexpectedExit?.(exitCode, jvm.tail());
    });
  };
  watchUnexpectedExit(running);

  const broker = {
    brokers: [address],
    dataDir,
    logFile,
    startupMs: running.startupMs,
    stop(): Promise<void> {
      stopped ??= serialize(async () => {
        await stopJvm(running, config.stopTimeoutMs);
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      });
      return stopped;
    },
    pause(): void {
      signalJvm(running, 'SIGSTOP');
    },
    resume(): void {
      signalJvm(running, 'SIGCONT');
    },
    restart(): Promise<void> {
      if (stopped !== undefined) {
        return Promise.reject(new McpwatchError('CLOSED', `Kafka broker ${address} was stopped.`));
      }
      return serialize(async () => {
        await stopJvm(running, config.stopTimeoutMs);
        running = await launch();
        broker.startupMs = running.startupMs;
        watchUnexpectedExit(running);
      });
    },
  };
  return broker;
}

/** The Maven-resolved runtime classpath of pom.xml, cached in `.kafka/` under the pom's hash. */
export async function resolveClasspath(): Promise<string> {
  const pom = await readFile(path.join(recipeDir, 'pom.xml'));
  const pomHash = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const cacheFile = path.join(cacheDir, `classpath-${pomHash}.txt`);
  if (existsSync(cacheFile)) {
    const cached = (await readFile(cacheFile, 'utf8')).trim();
    // A cleaned ~/.m2 makes the cache stale; resolve again rather than fail in the JVM.
    if (cached !== '' && cached.split(path.delimiter).every((jar) => existsSync(jar))) return cached;
  }
  await mkdir(cacheDir, { recursive: true });
  const resolving = path.join(cacheDir, `classpath-${pomHash}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const maven = await runToExit(
    'mvn',
    ['-B', '-q', 'dependency:build-classpath', `-Dmdep.outputFile=${resolving}`, '-Dmdep.includeScope=runtime'],
    recipeDir,
  );
  if (maven.exitCode !== 0 || !existsSync(resolving)) {
    throw new McpwatchError(
      'NOT_READY',
      `Maven could not resolve the Kafka classpath (mvn exit ${String(maven.exitCode)} in ${recipeDir}):\n${maven.output}`,
    );
  }
  // Rename is atomic, so concurrent first starts never read a half-written cache.
  await rename(resolving, cacheFile);
  return (await readFile(cacheFile, 'utf8')).trim();
}

interface RunningJvm {
  readonly process: ChildProcess;
  startupMs: number;
  /** Exit code of the JVM (128 + signal number when a signal ended it). */
  readonly exited: Promise<number | null>;
  stopRequested: boolean;
  /** Writing the class-data archive on exit takes seconds more than a plain shutdown. */
  dumpsClassesOnExit: boolean;
  tail(): string;
}

const liveJvms = new Set<ChildProcess>();

/** The JVM runs under a watchdog shell that leads its own process group (`detached`): signal the group. */
function signalJvm(jvm: RunningJvm, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const child = jvm.process;
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new McpwatchError('CLOSED', 'The Kafka broker JVM is not running.');
  }
  killGroup(child, signal);
}

async function launchBroker(launch: {
  classpath: string;
  jvmOptions: string[];
  dataDir: string;
  propertiesFile: string;
  address: string;
  logFile: string;
  readyTimeoutMs: number;
}): Promise<RunningJvm> {
  const startedAt = performance.now();
  const output = new OutputTail();
  const classes = classDataSharing(launch.classpath);
  const child = spawnJvm(launch.classpath, launch.dataDir, [
    ...classes.flags,
    ...launch.jvmOptions,
    'kafka.Kafka',
    launch.propertiesFile,
  ]);
  output.follow(child);
  const exited = exitOf(child).then(async (exitCode) => {
    await classes.keepArchive();
    return exitCode;
  });
  const tail = () => brokerLogTail(launch.logFile, output);
  const jvm: RunningJvm = {
    process: child,
    startupMs: 0,
    exited,
    stopRequested: false,
    dumpsClassesOnExit: classes.dumping,
    tail,
  };

  const probe = new ReadinessProbe(launch.address);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), launch.readyTimeoutMs);
  });
  const outcome = await Promise.race([
    probe.done.then(() => 'ready' as const),
    exited.then(() => 'exited' as const),
    deadline,
  ]);
  clearTimeout(timer);
  probe.cancel();
  if (outcome === 'ready') {
    jvm.startupMs = Math.round(performance.now() - startedAt);
    return jvm;
  }

  await stopJvm(jvm, 5_000);
  const exitCode = await exited;
  const why =
    outcome === 'exited'
      ? `the JVM exited with code ${String(exitCode)} before it was ready`
      : `it was not ready after ${launch.readyTimeoutMs} ms (last probe error: ${probe.lastError})`;
  throw new McpwatchError(
    'NOT_READY',
    `Kafka broker on ${launch.address} failed to start: ${why}. Data dir ${launch.dataDir}; log ${launch.logFile} ends with:\n${jvm.tail()}`,
  );
}

/**
 * Ready means every first-use path a test takes works: metadata, topic creation, an idempotent and
 * transactional producer (InitProducerId, transaction coordinator) and the group coordinator. Right after
 * start those answer "coordinator loading" for a while; kafkajs retries some of that but not all of it.
 */
class ReadinessProbe {
  /** Resolves when the broker is ready, or once cancelled; never rejects. */
  readonly done: Promise<void>;
  lastError = 'none';
  private cancelled = false;

  constructor(address: string) {
    this.done = this.run(address);
  }

  cancel(): void {
    this.cancelled = true;
  }

  private async run(address: string): Promise<void> {
    installRequestQueueScheduler();
    const kafka = new Kafka({
      clientId: 'mcpwatch-broker-probe',
      brokers: [address],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 500 },
    });
    const probeId = `__mcpwatch-probe-${randomUUID().slice(0, 8)}`;
    // Bounded by the caller's deadline, which cancels the loop; the pause keeps it from spinning.
    while (!this.cancelled) {
      const admin = kafka.admin();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: probeId });
      try {
        await admin.connect();
        await admin.describeCluster();
        await admin.createTopics({ topics: [{ topic: probeId, numPartitions: 1 }], waitForLeaders: true });
        await producer.connect();
        const transaction = await producer.transaction();
        await transaction.send({ topic: probeId, messages: [{ value: 'ready?' }] });
        await transaction.commit();
        await admin.fetchOffsets({ groupId: probeId, topics: [probeId] });
        await admin.deleteTopics({ topics: [probeId] });
        return;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setTimeout(resolve, 250));
      } finally {
        await producer.disconnect().catch(() => undefined);
        await admin.disconnect().catch(() => undefined);
      }
    }
  }
}

/**
 * Runs Java under a tiny shell watchdog that holds our end of a stdin pipe: when this Node process goes away
 * for any reason (even SIGKILL) the pipe closes and the watchdog sends the JVM SIGTERM. Closing the pipe is
 * also how `stop()` asks for a controlled shutdown. The watchdog leads its own process group, so SIGKILL to
 * the group reaches the JVM too.
 */
const jvmWatchdog = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'jvm=$!',
  '{ while read -r _ <&3; do :; done; kill -TERM "$jvm" 2>/dev/null; } &',
  'watchdog=$!',
  'wait "$jvm"',
  'status=$?',
  'kill "$watchdog" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** `optionsMainAndArgs`: extra JVM flags, then the main class and its arguments. */
function spawnJvm(classpath: string, dataDir: string, optionsMainAndArgs: string[]): ChildProcess {
  const child = spawn(
    'sh',
    [
      '-c',
      jvmWatchdog,
      'kafka-jvm',
      javaExecutable(),
      // Measured on 2 cores: C1 only and the serial collector start the broker fastest; see README.md.
      '-Xmx512m',
      '-Xms256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Xshare:auto',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${path.join(recipeDir, 'log4j2.xml')}`,
      `-Dkafka.logs.dir=${dataDir}`,
      '-cp',
      classpath,
      ...optionsMainAndArgs,
    ],
    { cwd: dataDir, detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  liveJvms.add(child);
  child.once('exit', () => liveJvms.delete(child));
  installExitGuards();
  return child;
}

/**
 * Application class-data sharing: the first broker JVM writes the classes it loaded to `.kafka/` when it exits;
 * later JVMs map that archive instead of loading ~45 jars again, which starts the broker markedly faster
 * (README.md has the numbers). The JVM ignores a stale or foreign archive (`-Xshare:auto`), it never fails on one.
 */
function classDataSharing(classpath: string): { flags: string[]; dumping: boolean; keepArchive(): Promise<void> } {
  const archive = classArchiveFile(classpath);
  if (existsSync(archive)) {
    return { flags: [`-XX:SharedArchiveFile=${archive}`], dumping: false, keepArchive: async () => {} };
  }
  // A private name, so that brokers starting side by side never write one file; the JVM writes it on exit.
  const dumping = `${archive}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  return {
    flags: [`-XX:ArchiveClassesAtExit=${dumping}`],
    dumping: true,
    keepArchive: async () => {
      if (!existsSync(dumping)) return;
      if (existsSync(archive)) await rm(dumping, { force: true });
      else await rename(dumping, archive);
    },
  };
}

function classArchiveFile(classpath: string): string {
  const key = createHash('sha256').update(`${javaExecutable()}\n${classpath}`).digest('hex').slice(0, 16);
  return path.join(cacheDir, `broker-classes-${key}.jsa`);
}

function javaExecutable(): string {
  const javaHome = process.env.JAVA_HOME;
  if (javaHome !== undefined && javaHome !== '') {
    const java = path.join(javaHome, 'bin', 'java');
    if (existsSync(java)) return java;
  }
  return 'java';
}

async function formatStorage(classpath: string, dataDir: string, propertiesFile: string): Promise<void> {
  const output = new OutputTail();
  const archive = classArchiveFile(classpath);
  const child = spawnJvm(classpath, dataDir, [
    ...(existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : []),
    'kafka.tools.StorageTool',
    'format',
    '--cluster-id',
    clusterId(),
    '--config',
    propertiesFile,
    '--ignore-formatted',
  ]);
  output.follow(child);
  const exitCode = await exitOf(child);
  if (exitCode !== 0) {
    throw new McpwatchError(
      'NOT_READY',
      `Kafka StorageTool could not format ${dataDir} (exit ${String(exitCode)}):\n${output.text()}`,
    );
  }
}

/**
 * A KRaft cluster id: 16 random bytes, base64url, as `kafka-storage random-uuid` prints it (without paying
 * for a JVM start). Kafka rejects ids whose text starts with '-' because command lines would take them for flags.
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(listen: { dataDir: string; port: number; controllerPort: number }): string {
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${host}:${listen.controllerPort}`,
    listeners: `PLAINTEXT://${host}:${listen.port},CONTROLLER://${host}:${listen.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${listen.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': path.join(listen.dataDir, 'kraft-logs'),
    // Tests create their topics explicitly; a typo in a topic name must fail, not create a topic.
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    // One partition per internal topic, so the readiness probe has loaded every coordinator there is.
    'offsets.topic.num.partitions': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.segment.bytes': 1_048_576,
    'transaction.state.log.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.segment.bytes': 1_048_576,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'log.segment.bytes': 1_048_576,
    // The cleaner (compacted state topics) would otherwise reserve 128 MiB of a 512 MiB heap.
    'log.cleaner.dedupe.buffer.size': 8_388_608,
    'num.network.threads': 2,
    'num.io.threads': 4,
    'num.recovery.threads.per.data.dir': 1,
  };
  return Object.entries(properties)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join('\n')
    .concat('\n');
}

async function stopJvm(jvm: RunningJvm, timeoutMs: number): Promise<void> {
  jvm.stopRequested = true;
  const child = jvm.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child, 'SIGCONT'); // a paused broker cannot shut down
  child.stdin?.destroy();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs + (jvm.dumpsClassesOnExit ? 30_000 : 0));
  });
  const outcome = await Promise.race([jvm.exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    killGroup(child, 'SIGKILL');
    await jvm.exited;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

let exitGuardsInstalled = false;

/**
 * No JVM outlives this process. On 'exit' the survivors are SIGKILLed (nothing can be awaited there). On
 * SIGINT/SIGTERM/SIGHUP this guard only acts when nobody else listens: a host with its own handler (the test
 * runner, the CLI below) stops brokers cleanly itself.
 */
function installExitGuards(): void {
  if (exitGuardsInstalled) return;
  exitGuardsInstalled = true;
  process.on('exit', () => {
    for (const child of liveJvms) killGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1) return;
      process.exit(128 + constants.signals[signal]);
    });
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('error', () => resolve(null));
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? null : 128 + constants.signals[signal])));
  });
}

/** The last lines a child printed, kept in memory for error messages. */
class OutputTail {
  private lines: string[] = [];

  follow(child: ChildProcess): void {
    const keep = (chunk: Buffer) => {
      this.lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      if (this.lines.length > 40) this.lines.splice(0, this.lines.length - 40);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('error', (error) => this.lines.push(`spawn failed: ${error.message}`));
  }

  text(): string {
    return this.lines.join('\n');
  }
}

function brokerLogTail(logFile: string, output: OutputTail): string {
  let log: string;
  try {
    // Synchronous on purpose: called on failure paths and from exit callbacks.
    log = readFileTail(logFile, 30);
  } catch {
    log = '(no broker.log yet)';
  }
  const jvmOutput = output.text();
  return jvmOutput === '' ? log : `${log}\n-- JVM stdout/stderr --\n${jvmOutput}`;
}

function readFileTail(file: string, lines: number): string {
  const text = readFileSync(file, 'utf8');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function runToExit(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ exitCode: number | null; output: string }> {
  const output = new OutputTail();
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  output.follow(child);
  const exitCode = await exitOf(child);
  return { exitCode, output: output.text() };
}

/**
 * A free port below the kernel's ephemeral range. A port from that range (what `listen(0)` hands out) can be
 * taken as the local port of any outgoing connection while the broker is down, and `restart()` on the same
 * port then fails; ports below it are only ever taken by listeners that ask for them.
 */
async function freePort(): Promise<number> {
  const ephemeralLow = ephemeralPortRangeStart();
  const low = 10_000;
  if (ephemeralLow > low + 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = low + Math.floor(Math.random() * (ephemeralLow - low));
      if (await canListen(port)) return port;
    }
  }
  return listenOnce(0);
}

function ephemeralPortRangeStart(): number {
  try {
    const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(first);
    return Number.isInteger(port) && port > 0 ? port : 0;
  } catch {
    return 0; // not Linux: fall back to a kernel-chosen port
  }
}

async function canListen(port: number): Promise<boolean> {
  try {
    await listenOnce(port);
    return true;
  } catch {
    return false;
  }
}

/** Listens on `port` (0: any), closes, and returns the port that was bound. */
async function listenOnce(port: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port from the kernel');
  return address.port;
}

const usage = `Usage: npx tsx deploy/kafka/broker.ts [--port <port>] [--data-dir <dir>]

Starts one Apache Kafka broker (KRaft, broker + controller) on 127.0.0.1 for development and keeps it
running until Ctrl-C. Prints KAFKA_BROKERS=<address> for tests and tools.

  --port <port>      Kafka listener port (default: a free port)
  --data-dir <dir>   keep data here across runs (default: a temporary directory, removed on exit)
  --help             show this help`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const options: KafkaBrokerOptions = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port))
      throw new McpwatchError('CONFIG_INVALID', `--port: expected an integer, got "${values.port}"`);
    options.port = port;
  }
  if (values['data-dir'] !== undefined) options.dataDir = path.resolve(values['data-dir']);

  let stopping: Promise<void> | undefined;
  let finished: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finished = resolve));
  options.onUnexpectedExit = (exitCode, logTail) => {
    console.error(`Kafka broker exited unexpectedly (exit ${String(exitCode)}). Log ends with:\n${logTail}`);
    finished(1);
  };
  const startedAt = performance.now();
  const broker = await startKafkaBroker(options);
  console.log(`KAFKA_BROKERS=${broker.brokers.join(',')}`);
  console.log(
    `Kafka broker ready in ${Math.round(performance.now() - startedAt)} ms (JVM ${broker.startupMs} ms). ` +
      `Data: ${broker.dataDir}; log: ${broker.logFile}. Ctrl-C stops it.`,
  );
  const stop = () => {
    stopping ??= broker.stop().then(() => finished(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return done;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
