/**
 * `mcpwatch demo` (what `npm start` runs): `serve` in this process, the sample servers as separate processes
 * instrumented by the one import, on both SDK lines (workspace and calendar on 1.x, weather on 2.x; the toolbox
 * server, on 2.x, instead runs bare, watched only through `mcpwatch proxy`, as a server you do not own would be),
 * and the scripted agent. Alerts are attributed to the step during which they
 * arrive; the run passes only when every attack step raised each rule it expects and no benign step raised any.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { startServe } from '../cli/serve.ts';
import type { Alert } from '../contracts/alert.ts';
import type { AlertSink } from '../detectors/sinks/types.ts';
import { demoDetectorsConfig } from './config.ts';
import { createDemoIssuer } from './issuer.ts';
import { startKafkaPipeline, type DemoPipeline } from './kafka-pipeline.ts';
import { freePort, stopChildren } from './processes.ts';
import {
  SCENARIO,
  closeSessions,
  type DemoServers,
  type ScenarioStep,
  type ScenarioWorld,
  type StepOutcome,
} from './scenario.ts';
import { TerminalView } from './view.ts';

export interface DemoOptions {
  dashboardPort: number;
  keepRunning: boolean;
  logger: Logger;
  /** Where the view writes; stdout by default. */
  output?: NodeJS.WritableStream;
  /** How long a step may wait for its expected alerts (ms). */
  stepTimeoutMs?: number;
  /** Run the collector and detectors as separate processes over these Kafka brokers instead of `serve`. */
  kafkaBrokers?: string[];
}

export interface DemoResult {
  passed: boolean;
  outcomes: StepOutcome[];
  dashboardUrl: string | undefined;
  alertsPath: string;
}

/** The pipeline is idle when nothing new arrived for this long. */
const QUIET_MS = 1_200;
const SERVER_NAMES = ['workspace', 'calendar', 'weather', 'toolbox'] as const;
/** Servers run without the import and watched from outside, through the gateway. */
const PROXIED: ReadonlySet<string> = new Set(['toolbox']);
/** How each server is built and watched, for the view. */
const WATCHED_AS = {
  workspace: 'SDK 1.x, one import',
  calendar: 'SDK 1.x, one import',
  weather: 'SDK 2.x, one import',
  toolbox: 'SDK 2.x, mcpwatch proxy',
} as const;

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const view = new TerminalView(options.output ?? process.stdout);
  const received: Alert[] = [];
  const liveSink: AlertSink = {
    name: 'demo-view',
    deliver: (alerts) => {
      for (const alert of alerts) {
        received.push(alert);
        view.alert(alert);
      }
      return Promise.resolve();
    },
    health: () => Promise.resolve({ healthy: true }),
    close: () => Promise.resolve(),
  };

  const workDir = await mkdtemp(join(tmpdir(), 'mcpwatch-demo-'));
  const alertsPath = join(workDir, 'alerts.jsonl');
  const issuer = await createDemoIssuer();
  const cleanup: (() => Promise<void>)[] = [];
  try {
    view.banner();
    const pipeline: DemoPipeline =
      options.kafkaBrokers === undefined
        ? await startServe({
            host: '127.0.0.1',
            port: 0,
            dashboardPort: options.dashboardPort,
            config: demoDetectorsConfig(alertsPath),
            extraSinks: [liveSink],
            logger: options.logger,
          })
        : await startKafkaPipeline({
            brokers: options.kafkaBrokers,
            workDir,
            alertsPath,
            dashboardPort: options.dashboardPort,
            liveSink,
            logger: options.logger,
          });
    cleanup.push(() => pipeline.close());
    view.pipeline(pipeline.otlpUrl, pipeline.dashboardUrl, options.kafkaBrokers);

    const downstream = await startDownstreamApi();
    cleanup.push(() => downstream.close());
    const children: ChildProcess[] = [];
    cleanup.push(() => stopChildren(children));
    const env = demoServerEnv(pipeline.otlpUrl, JSON.stringify(issuer.publicJwk), downstream.url);
    const urls = await Promise.all(SERVER_NAMES.map((name) => startDemoServer(name, env, children)));
    const servers = Object.fromEntries(
      SERVER_NAMES.map((name, index) => [name, urls[index]!]),
    ) as unknown as DemoServers;
    view.servers(servers, WATCHED_AS);

    const world: ScenarioWorld = { servers, issuer, sessions: new Map() };
    cleanup.push(() => closeSessions(world));
    const outcomes: StepOutcome[] = [];
    for (const [index, step] of SCENARIO.entries()) {
      view.step(index + 1, SCENARIO.length, step);
      const before = received.length;
      await step.run(world);
      await settle(pipeline, received, before, step, options.stepTimeoutMs ?? 15_000);
      const alerts = received.slice(before);
      const raised = new Set(alerts.map((alert) => alert.ruleId));
      const missed = step.expect.filter((ruleId) => !raised.has(ruleId));
      outcomes.push({ step, alerts, missed, passed: step.attack ? missed.length === 0 : alerts.length === 0 });
    }

    const passed = outcomes.every((outcome) => outcome.passed);
    view.summary(outcomes, alertsPath, pipeline.dashboardUrl);
    if (options.keepRunning && pipeline.dashboardUrl !== undefined) await view.waitForInterrupt(pipeline.dashboardUrl);
    return { passed, outcomes, dashboardUrl: pipeline.dashboardUrl, alertsPath };
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  }
}

/**
 * Waits until the step's expected rules have alerted (attack steps) and the pipeline has been quiet for a
 * moment, so that late alerts are not pinned on the next step.
 */
async function settle(
  pipeline: DemoPipeline,
  received: readonly Alert[],
  before: number,
  step: ScenarioStep,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = { events: pipeline.store.summary().events, alerts: received.length, at: Date.now() };
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = { events: pipeline.store.summary().events, alerts: received.length, at: Date.now() };
    if (now.events !== last.events || now.alerts !== last.alerts) last = now;
    const raised = new Set(received.slice(before).map((alert) => alert.ruleId));
    const expectedSeen = step.expect.every((ruleId) => raised.has(ruleId));
    if (expectedSeen && now.at - last.at >= QUIET_MS) return;
    if (now.at > deadline) return;
  }
}

function demoServerEnv(otlpUrl: string, issuerJwk: string, downstreamUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    // Export quickly so the demo's alerts follow its steps closely; the defaults batch for seconds.
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_BLRP_SCHEDULE_DELAY: '100',
    OTEL_METRICS_EXPORTER: 'none',
    // One key for every demo process, so token fingerprints and principal ids correlate across them.
    MCPWATCH_HMAC_KEY: randomBytes(32).toString('hex'),
    MCPWATCH_CAPTURE_CONTENT: 'true',
    DEMO_ISSUER_JWK: issuerJwk,
    DOWNSTREAM_URL: downstreamUrl,
    RUG_PULL_AFTER: '3',
  };
}

const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
/** Runs from source with tsx, or from `dist/` once built. */
const FROM_SOURCE = EXTENSION === '.ts' ? ['--conditions=mcpwatch-source', '--import', 'tsx'] : [];

function nodeArgsFor(name: string): string[] {
  const entry = fileURLToPath(new URL(`./servers/main${EXTENSION}`, import.meta.url));
  return [...FROM_SOURCE, ...(PROXIED.has(name) ? [] : ['--import', 'mcpwatch/register']), entry, name];
}

async function startDemoServer(name: string, env: NodeJS.ProcessEnv, children: ChildProcess[]): Promise<string> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const direct = await startAnnouncing(
    name,
    nodeArgsFor(name),
    { ...env, PORT: String(port), OTEL_SERVICE_NAME: `demo-${name}`, MCPWATCH_RESOURCE: url },
    url,
    children,
  );
  if (!PROXIED.has(name)) return direct;
  const proxyPort = await freePort();
  const proxyUrl = `http://127.0.0.1:${proxyPort}/mcp`;
  const cli = fileURLToPath(new URL(`../cli/main${EXTENSION}`, import.meta.url));
  const args = [...FROM_SOURCE, cli, 'proxy', '--upstream', direct, '--listen', `127.0.0.1:${proxyPort}`];
  return startAnnouncing(
    `${name} proxy`,
    [...args, '--name', name],
    { ...env, OTEL_SERVICE_NAME: `demo-${name}-proxy`, MCPWATCH_RESOURCE: proxyUrl },
    proxyUrl,
    children,
  );
}

/** Starts a process that prints `{"url": ...}` on its first stdout line once it listens. */
async function startAnnouncing(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  url: string,
  children: ChildProcess[],
): Promise<string> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`demo server ${name} did not start in 120 s:\n${stderr}`)),
      120_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo server ${name} exited with ${code}:\n${stderr}`));
    });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const announced = JSON.parse(line) as { url?: string };
      if (announced.url === url) resolve(url);
      else reject(new Error(`demo server ${name} announced ${line}, expected ${url}`));
    });
  });
}

/** The "corporate groupware API" the calendar server forwards tokens to. It accepts anything. */
async function startDownstreamApi(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_request, response) => response.writeHead(202).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/sync`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
