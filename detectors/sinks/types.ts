import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';

export interface SinkHealth {
  healthy: boolean;
  /** Why not, in a sentence an operator can act on. */
  detail?: string;
}

/**
 * Where alerts go. The runtime commits consumer offsets only after `deliver` resolves, so a sink must resolve
 * only once the alerts are durable at the destination (or in its own durable spool), and reject otherwise
 * with an `McpwatchError('DELIVERY_FAILED', ..., { retriable })`. Delivering the same alert twice is allowed
 * (alert ids are deterministic); losing one is not.
 */
export interface AlertSink {
  /** Names the protocol: `kafka`, `file`, `stdout`, `webhook`, `azure-monitor`, `splunk-hec`. */
  readonly name: string;
  deliver(alerts: readonly Alert[]): Promise<void>;
  /**
   * Present only on a sink configured to carry the audit events too (`auditEvents: true`): the runtime then
   * hands it every valid event of each events-topic batch, under the same contract as `deliver`. Repeats share
   * their `eventId`.
   */
  readonly deliverEvents?: (events: readonly McpEvent[]) => Promise<void>;
  health(): Promise<SinkHealth>;
  /** Flushes what was accepted and releases resources. */
  close(): Promise<void>;
}
