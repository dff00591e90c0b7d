import type { Writable } from 'node:stream';
import type { Alert } from '../../contracts/alert.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { alertRecord } from './format.ts';
import type { AlertSink, SinkHealth } from './types.ts';

/** Evidence is cut to this many characters in the readable view; the full alert is in the JSON sinks. */
const EVIDENCE_CHARS = 160;

/**
 * One readable line per alert: `time SEVERITY rule-id  title  user=… session=…  evidence`. Control characters
 * from event data are escaped so an attacker-chosen string cannot rewrite the operator's terminal.
 */
export function formatAlertLine(alert: Alert): string {
  const entities = Object.entries(alert.entities)
    .filter(([, value]) => typeof value === 'string' && value !== '')
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(' ');
  let evidence = JSON.stringify(alert.evidence);
  if (evidence.length > EVIDENCE_CHARS) evidence = evidence.slice(0, EVIDENCE_CHARS - 1) + '…';
  const count = alert.count > 1 ? ` (×${alert.count})` : '';
  const line = [alert.time, alert.severity.toUpperCase(), alert.ruleId, alert.title + count, entities, evidence]
    .filter((part) => part !== '')
    .join('  ');
  return escapeControl(line);
}

/** C0 and C1 control characters and DEL. */
const CONTROL_CHARACTERS = /\p{Cc}/gu;

function escapeControl(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Writes alerts to a stream (stdout by default) as readable lines, JSON Lines, or OCSF Detection Findings as JSON
 * Lines; confirmed once written.
 */
export class StdoutSink implements AlertSink {
  readonly name = 'stdout';

  constructor(
    private readonly format: 'text' | 'json' | 'ocsf' = 'text',
    private readonly out: Writable = process.stdout,
  ) {}

  deliver(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return Promise.resolve();
    const text = alerts.map(
      (alert) =>
        (this.format === 'text'
          ? formatAlertLine(alert)
          : JSON.stringify(alertRecord(alert, this.format === 'ocsf' ? 'ocsf' : 'mcpwatch'))) + '\n',
    );
    return new Promise((resolve, reject) => {
      this.out.write(text.join(''), (error) => {
        if (error === null || error === undefined) resolve();
        else reject(new McpwatchError('DELIVERY_FAILED', 'Could not write alerts to stdout', { cause: error }));
      });
    });
  }

  health(): Promise<SinkHealth> {
    return Promise.resolve(
      this.out.writable ? { healthy: true } : { healthy: false, detail: 'The output stream is closed' },
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
