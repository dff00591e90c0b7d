/**
 * What the detectors crash tests share: a detectors child process whose JSON log lines can be awaited, and
 * readers for what reached the alerts topic and the JSONL file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { FIXTURE_CONFIGS, FIXTURE_ENVIRONMENT } from '../detectors/rules/fixtures/environment.ts';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../contracts/alert.ts';
import { partitionKeyOf, type McpEvent } from '../contracts/mcp-event.ts';
import type { Transport } from '../transport/types.ts';
import { waitFor } from './support/wait-for.ts';

const workerPath = fileURLToPath(new URL('./detectors-worker.ts', import.meta.url));

export interface WorkerLogLine {
  msg: string;
  partitions?: number[];
  partition?: number;
  records?: number;
  [field: string]: unknown;
}

export interface WorkerSetup {
  brokers: string[];
  topics: { events: string; detectorState: string; eventsDeadLetter: string; alerts: string };
  groupId: string;
  alertsFile: string;
  /** `fixtures`: the whole rule catalog in the fixtures' deployment; default the test rule. */
  catalog?: 'fixtures';
  /** The detectors configuration's `engine` section; default no allowed lateness. */
  engine?: object;
}

export class DetectorsWorker {
  readonly lines: WorkerLogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private stderr = '';
  private waiters: (() => void)[] = [];

  constructor(setup: WorkerSetup) {
    this.child = spawn(process.execPath, ['--import', 'tsx', workerPath], {
      env: {
        ...process.env,
        KAFKA_BROKERS: setup.brokers.join(','),
        DETECTORS_TEST_TOPICS: JSON.stringify(setup.topics),
        DETECTORS_TEST_GROUP: setup.groupId,
        DETECTORS_TEST_ALERTS_FILE: setup.alertsFile,
        DETECTORS_TEST_CATALOG: setup.catalog ?? '',
        ...(setup.engine === undefined ? {} : { DETECTORS_TEST_ENGINE: JSON.stringify(setup.engine) }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const part of parts) {
        try {
          this.lines.push(JSON.parse(part) as WorkerLogLine);
        } catch {
          this.stderr += `[stdout] ${part}\n`;
        }
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child
      .stderr!.setEncoding('utf8')
      .on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-8000)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves with the first log line matching, rejects after `timeoutMs` or when the process exits. */
  async waitForLine(match: (line: WorkerLogLine) => boolean, timeoutMs = 30_000): Promise<WorkerLogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(
          `Worker log line not seen (exit ${String(this.child.exitCode)}).\nstderr: ${this.stderr}\nlog: ${this.lines.map((l) => (l.err === undefined ? l.msg : `${l.msg} (${JSON.stringify(l.err).slice(0, 600)})`)).join(' | ')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Records this worker committed so far. */
  committedRecords(): number {
    return this.lines
      .filter((line) => line.msg === 'Batch committed.')
      .reduce((sum, line) => sum + (line.records ?? 0), 0);
  }

  /** Partitions this worker currently owns, per its assign/revoke log. */
  ownedPartitions(): Set<number> {
    const owned = new Set<number>();
    for (const line of this.lines) {
      if (line.msg === 'Partitions assigned; state restored.') for (const p of line.partitions ?? []) owned.add(p);
      if (line.msg === 'Partitions revoked.') for (const p of line.partitions ?? []) owned.delete(p);
    }
    return owned;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function produceEvents(transport: Transport, topic: string, events: readonly McpEvent[]): Promise<void> {
  const producer = await transport.producer();
  try {
    await producer.send(
      topic,
      events.map((event) => ({ key: partitionKeyOf(event), value: JSON.stringify(event) })),
    );
  } finally {
    await producer.close();
  }
}

/** Every alert in the alerts topic (all partitions), in partition then offset order. */
export async function readAlertsTopic(transport: Transport, topic: string): Promise<Alert[]> {
  const alerts: Alert[] = [];
  const partitions = await transport.partitionCount(topic);
  for (let partition = 0; partition < partitions; partition += 1) {
    for await (const record of transport.readPartition(topic, partition)) {
      const alert = JSON.parse(record.value.toString('utf8')) as Alert;
      if (record.key !== alert.alertId) throw new Error(`alert keyed ${String(record.key)}, id ${alert.alertId}`);
      alerts.push(alert);
    }
  }
  return alerts;
}

export async function readAlertsFile(path: string): Promise<Alert[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Alert);
}

/** Polls the alerts topic until `count` distinct alert ids arrived (bounded by `timeoutMs`). */
export async function waitForAlerts(
  transport: Transport,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<Alert[]> {
  return waitFor(
    `${count} distinct alerts on ${topic}`,
    async () => {
      const alerts = await readAlertsTopic(transport, topic);
      return new Set(alerts.map((alert) => alert.alertId)).size >= count && alerts;
    },
    timeoutMs,
    300,
  );
}

/** The rule configs and environment the fixtures are written against, as a detectors configuration. */
export function fixtureDeployment(): { rules: Record<string, { config: unknown }>; environment: object } {
  return {
    rules: Object.fromEntries(Object.entries(FIXTURE_CONFIGS).map(([id, config]) => [id, { config }])),
    environment: FIXTURE_ENVIRONMENT,
  };
}
