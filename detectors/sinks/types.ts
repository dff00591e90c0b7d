import type { Alert } from '../../contracts/alert.ts';

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
  health(): Promise<SinkHealth>;
  /** Flushes what was accepted and releases resources. */
  close(): Promise<void>;
}
