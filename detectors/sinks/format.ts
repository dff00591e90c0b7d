import type { Alert } from '../../contracts/alert.ts';
import { alertToOcsf } from '../../contracts/ocsf.ts';

/** How a sink writes an alert: mcpwatch's own JSON (the `Alert` contract) or an OCSF Detection Finding. */
export type AlertFormat = 'mcpwatch' | 'ocsf';

export const ALERT_FORMATS = ['mcpwatch', 'ocsf'] as const satisfies readonly AlertFormat[];

/** The JSON value a sink writes for one alert in `format`. */
export function alertRecord(alert: Alert, format: AlertFormat): unknown {
  return format === 'ocsf' ? alertToOcsf(alert) : alert;
}
