/**
 * The Splunk HTTP Event Collector sink's configuration, apart from the sink like the Azure Monitor one.
 */
import { z } from 'zod';
import { describeIssues, issuesOf } from '../../contracts/parse.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { ALERT_FORMATS, type AlertFormat } from './format.ts';

/** Where the token is read from when the file does not hold it (it should not). */
export const SPLUNK_HEC_TOKEN_ENV = 'MCPWATCH_SPLUNK_HEC_TOKEN';

export const SplunkHecSinkConfig = z
  .strictObject({
    type: z.literal('splunk-hec'),
    /** Base URL of the collector, e.g. `https://splunk.example.com:8088`; the sink appends `/services/collector/...`. */
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    /** The HEC token; better left out and given in the variable `tokenEnv` names. */
    token: z.string().min(1).optional(),
    /** Environment variable holding the HEC token when `token` is absent. */
    tokenEnv: z.string().min(1).default(SPLUNK_HEC_TOKEN_ENV),
    /**
     * What each event's `event` field is: the mcpwatch alert (or audit event), or an OCSF 1.8.0 Detection Finding
     * (or API Activity).
     */
    format: z.enum(ALERT_FORMATS).default('mcpwatch'),
    /** Target index; the token's default index when absent. */
    index: z.string().min(1).max(80).optional(),
    source: z.string().min(1).default('mcpwatch'),
    /** Default `mcpwatch:alert`, or `mcpwatch:ocsf` for OCSF. */
    sourcetype: z.string().min(1).optional(),
    /** Also send every audit event, under `eventsSourcetype`, with the same acknowledgement as alerts. */
    auditEvents: z.boolean().optional(),
    /** Sourcetype of the audit events; default `mcpwatch:event`, or `mcpwatch:ocsf:event` for OCSF. */
    eventsSourcetype: z.string().min(1).optional(),
    /** The `host` field of each event; Splunk uses the sender's address when absent. */
    host: z.string().min(1).optional(),
    /**
     * Wait until Splunk reports the events indexed (`/services/collector/ack`) before confirming. Splunk Enterprise
     * offers it per token; Splunk Cloud only to Kinesis Firehose, so there set `false`: a collector's 200 then
     * confirms, which says the events were received, not indexed.
     */
    acknowledgement: z.boolean().default(true),
    /** Request channel (a GUID) for indexer acknowledgement; a random one per sink instance when absent. */
    channel: z.uuid().optional(),
    /** Upper bound of one request's uncompressed body; HEC's `max_content_length` is 1 MB on Splunk Cloud. */
    maxBatchBytes: z.int().min(1024).max(100_000_000).default(1_000_000),
    /** Compress request bodies (`Content-Encoding: gzip`). */
    gzip: z.boolean().default(true),
    /** PEM file of CA certificates to trust instead of the public ones (a private Splunk CA, the local stand-in). */
    caFile: z.string().min(1).optional(),
    /** Per request (events or ack query), in ms. */
    requestTimeoutMs: z.int().positive().max(300_000).default(30_000),
    /** Events not acknowledged as indexed by then fail the delivery (retriable: they are sent again). */
    ackTimeoutMs: z.int().positive().max(600_000).default(60_000),
    /** Wait between two ack queries (ms); Splunk advises polling no faster than the indexers index. */
    ackPollMs: z.int().positive().max(60_000).default(500),
  })
  .refine((config) => splunkSourcetypesOf(config).alerts !== splunkSourcetypesOf(config).events, {
    message: 'the audit events need a sourcetype of their own, not the alerts one',
    path: ['eventsSourcetype'],
  });

export type SplunkHecSinkConfig = z.input<typeof SplunkHecSinkConfig>;
export type ResolvedSplunkHecSinkConfig = z.output<typeof SplunkHecSinkConfig>;

/** Validates a sink configuration; throws `CONFIG_INVALID` naming each bad key. */
export function parseSplunkHecSinkConfig(config: unknown): ResolvedSplunkHecSinkConfig {
  const parsed = SplunkHecSinkConfig.safeParse(config);
  if (!parsed.success) {
    throw new McpwatchError('CONFIG_INVALID', `splunk-hec sink: ${describeIssues(issuesOf(parsed.error))}`);
  }
  return parsed.data;
}

/** The sourcetypes of alerts and of audit events a configuration implies. */
export function splunkSourcetypesOf(config: {
  format: AlertFormat;
  sourcetype?: string | undefined;
  eventsSourcetype?: string | undefined;
}): { alerts: string; events: string } {
  const ocsf = config.format === 'ocsf';
  return {
    alerts: config.sourcetype ?? (ocsf ? 'mcpwatch:ocsf' : 'mcpwatch:alert'),
    events: config.eventsSourcetype ?? (ocsf ? 'mcpwatch:ocsf:event' : 'mcpwatch:event'),
  };
}
