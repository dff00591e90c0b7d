/** Topic names: versioned, so that a contract change is a new topic rather than a surprise. */
export const TOPICS = {
  events: 'mcp.events.v1',
  alerts: 'mcp.alerts.v1',
  /** Alerts as OCSF Detection Findings, for a Kafka sink with `format: ocsf`. */
  alertsOcsf: 'mcp.alerts.ocsf.v1',
  /** Audit events as OCSF API Activity, for a Kafka sink with `format: ocsf` and `auditEvents: true`. */
  eventsOcsf: 'mcp.events.ocsf.v1',
  detectorState: 'mcpwatch.detector-state.v1',
  eventsDeadLetter: 'mcp.events.dlq',
  /** Written by a stock OpenTelemetry Collector's Kafka exporter (encoding `otlp_proto`). */
  otlpSpans: 'otlp_spans',
  otlpLogs: 'otlp_logs',
} as const;

/** Record headers mcpwatch sets. */
export const HEADERS = {
  schemaVersion: 'mcpwatch-schema-version',
  /** On dead letters: why the record could not be processed (`path: message; ...`). */
  deadLetterReason: 'mcpwatch-dlq-reason',
  /** On dead letters: which stage gave up (`collector`, `detectors`). */
  deadLetterStage: 'mcpwatch-dlq-stage',
  /** On dead letters from a topic: where the record came from (`topic/partition/offset`). */
  deadLetterSource: 'mcpwatch-dlq-source',
} as const;
