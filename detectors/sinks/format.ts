import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import { alertToOcsf, eventToOcsf } from '../../contracts/ocsf.ts';

/**
 * How a sink writes an alert: mcpwatch's own JSON (the `Alert` contract) or an OCSF Detection Finding; and an audit
 * event: the `McpEvent` contract or an OCSF API Activity.
 */
export type AlertFormat = 'mcpwatch' | 'ocsf';

export const ALERT_FORMATS = ['mcpwatch', 'ocsf'] as const satisfies readonly AlertFormat[];

/** The JSON value a sink writes for one alert in `format`. */
export function alertRecord(alert: Alert, format: AlertFormat): unknown {
  return format === 'ocsf' ? alertToOcsf(alert) : alert;
}

/** The JSON value a sink writes for one audit event in `format`. */
export function eventRecord(event: McpEvent, format: AlertFormat): unknown {
  return format === 'ocsf' ? eventToOcsf(event) : event;
}
