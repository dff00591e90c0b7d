import type { Alert } from '../../contracts/alert.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { TOPICS } from '../../transport/topics.ts';
import type { Producer, Transport } from '../../transport/types.ts';
import { alertRecord, type AlertFormat } from './format.ts';
import type { AlertSink, SinkHealth } from './types.ts';

/**
 * Produces alerts to `mcp.alerts.v1` (or, as OCSF Detection Findings, to `mcp.alerts.ocsf.v1`) keyed by alert id,
 * so compaction or consumers can drop repeats.
 */
export class KafkaSink implements AlertSink {
  readonly name = 'kafka';
  private producer: Promise<Producer> | undefined;
  private lastError: unknown;

  constructor(
    private readonly transport: Transport,
    readonly topic: string = TOPICS.alerts,
    /** Partitions when the sink has to create the topic. */
    private readonly partitions = 3,
    readonly format: AlertFormat = 'mcpwatch',
  ) {}

  async deliver(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    try {
      this.producer ??= this.connect();
      const producer = await this.producer;
      await producer.send(
        this.topic,
        alerts.map((alert) => ({ key: alert.alertId, value: JSON.stringify(alertRecord(alert, this.format)) })),
      );
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error;
      throw new McpwatchError('DELIVERY_FAILED', `Could not produce ${alerts.length} alerts to ${this.topic}`, {
        cause: error,
        retriable: true,
      });
    }
  }

  /** A failed connect is forgotten, so the next delivery tries again. */
  private connect(): Promise<Producer> {
    const connecting = this.transport
      .ensureTopics([{ topic: this.topic, partitions: this.partitions }])
      .then(() => this.transport.producer());
    connecting.catch(() => {
      if (this.producer === connecting) this.producer = undefined;
    });
    return connecting;
  }

  health(): Promise<SinkHealth> {
    if (this.lastError === undefined) return Promise.resolve({ healthy: true });
    const reason = this.lastError instanceof Error ? this.lastError.message : 'unknown error';
    return Promise.resolve({ healthy: false, detail: `Last produce to ${this.topic} failed: ${reason}` });
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await (await producer).close();
  }
}
