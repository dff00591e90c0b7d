import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { TOPICS } from '../../transport/topics.ts';
import type { Producer, Transport } from '../../transport/types.ts';
import { alertRecord, eventRecord, type AlertFormat } from './format.ts';
import type { AlertSink, SinkHealth } from './types.ts';

/**
 * Produces alerts to `mcp.alerts.v1` (or, as OCSF Detection Findings, to `mcp.alerts.ocsf.v1`) keyed by alert id,
 * so compaction or consumers can drop repeats. Given `eventsTopic`, audit events go there keyed by event id.
 */
export class KafkaSink implements AlertSink {
  readonly name = 'kafka';
  readonly deliverEvents?: (events: readonly McpEvent[]) => Promise<void>;
  private producer: Promise<Producer> | undefined;
  /** The topic and reason of the last failed produce, until one succeeds. */
  private lastFailure: string | undefined;

  constructor(
    private readonly transport: Transport,
    readonly topic: string = TOPICS.alerts,
    /** Partitions when the sink has to create the topic. */
    private readonly partitions = 3,
    readonly format: AlertFormat = 'mcpwatch',
    readonly eventsTopic?: string,
  ) {
    if (eventsTopic !== undefined) {
      this.deliverEvents = (events) =>
        this.produce(
          eventsTopic,
          events.map((event) => ({ key: event.eventId, value: JSON.stringify(eventRecord(event, format)) })),
          'audit events',
        );
    }
  }

  deliver(alerts: readonly Alert[]): Promise<void> {
    return this.produce(
      this.topic,
      alerts.map((alert) => ({ key: alert.alertId, value: JSON.stringify(alertRecord(alert, this.format)) })),
      'alerts',
    );
  }

  private async produce(topic: string, records: { key: string; value: string }[], what: string): Promise<void> {
    if (records.length === 0) return;
    try {
      this.producer ??= this.connect();
      const producer = await this.producer;
      await producer.send(topic, records);
      this.lastFailure = undefined;
    } catch (error) {
      this.lastFailure = `${topic} failed: ${error instanceof Error ? error.message : 'unknown error'}`;
      throw new McpwatchError('DELIVERY_FAILED', `Could not produce ${records.length} ${what} to ${topic}`, {
        cause: error,
        retriable: true,
      });
    }
  }

  /** A failed connect is forgotten, so the next delivery tries again. */
  private connect(): Promise<Producer> {
    const connecting = this.transport
      .ensureTopics(
        [this.topic, ...(this.eventsTopic === undefined ? [] : [this.eventsTopic])].map((topic) => ({
          topic,
          partitions: this.partitions,
        })),
      )
      .then(() => this.transport.producer());
    connecting.catch(() => {
      if (this.producer === connecting) this.producer = undefined;
    });
    return connecting;
  }

  health(): Promise<SinkHealth> {
    if (this.lastFailure === undefined) return Promise.resolve({ healthy: true });
    return Promise.resolve({ healthy: false, detail: `Last produce to ${this.lastFailure}` });
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await (await producer).close();
  }
}
