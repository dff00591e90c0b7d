/**
 * The Azure Monitor sink's configuration, apart from the sink so that validating a detectors configuration
 * does not load the Azure SDK.
 */
import { z } from 'zod';
import { ALERTS_TABLE, EVENTS_TABLE } from '../../contracts/log-analytics.ts';
import { describeIssues, issuesOf } from '../../contracts/parse.ts';
import { McpwatchError } from '../../contracts/errors.ts';

const MiB = 1024 * 1024;

export const AzureMonitorSinkConfig = z.strictObject({
  type: z.literal('azure-monitor'),
  /** Logs ingestion endpoint of the data collection rule (or of a data collection endpoint); https only. */
  endpoint: z.url({ protocol: /^https$/, error: 'expected an https:// URL' }),
  /** The rule's immutable id, as the deployment outputs it. */
  dcrImmutableId: z.string().regex(/^dcr-[0-9a-f]{32}$/, 'expected dcr- and 32 hex digits'),
  alertsStream: z.string().min(1).default(ALERTS_TABLE.streamName),
  /** Also upload every audit event into `eventsStream` (the `MCPWatchEvents_CL` table the workbooks, hunting queries and ASIM parsers read). */
  auditEvents: z.boolean().optional(),
  eventsStream: z.string().min(1).default(EVENTS_TABLE.streamName),
  /** Token audience; differs in sovereign clouds (`https://monitor.azure.us`, `https://monitor.azure.cn`). */
  audience: z.url().default('https://monitor.azure.com'),
  /** A user-assigned managed identity; otherwise DefaultAzureCredential's chain (env secret, workload identity, managed identity). */
  managedIdentityClientId: z.string().min(1).optional(),
  /** PEM file of CA certificates to trust instead of the public ones (a TLS-inspecting proxy, the local stand-in). */
  caFile: z.string().min(1).optional(),
  spool: z.strictObject({
    directory: z.string().min(1),
    /** Bytes of rows waiting at most; beyond, `deliver` rejects (retriable) and the runtime holds its offsets. */
    maxBytes: z
      .number()
      .int()
      .positive()
      .default(256 * MiB),
    segmentBytes: z
      .number()
      .int()
      .positive()
      .default(8 * MiB),
  }),
  /** JSON lines of rows the service refused (400) or that exceed any request; default `<spool>/dead-letter.jsonl`. */
  deadLetterFile: z.string().min(1).optional(),
  /** Upper bound of one request's JSON body; below the SDK's 1,000,000-byte chunking so it never splits. */
  maxBatchBytes: z.number().int().min(1024).max(999_000).default(990_000),
  retry: z
    .strictObject({
      baseDelayMs: z.number().int().positive().default(500),
      maxDelayMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  /** A request with no answer by then is abandoned and retried (the rows may then arrive twice). */
  requestTimeoutMs: z.number().int().positive().default(60_000),
  /** After 401/403/404, try again after this long: a new role assignment takes minutes to apply. */
  stoppedProbeMs: z.number().int().positive().default(300_000),
  /** Consecutive failed requests after which `health()` says unhealthy. */
  unhealthyAfterFailures: z.number().int().positive().default(3),
  /** How long `close()` keeps flushing; what is left stays in the spool for the next start. */
  closeTimeoutMs: z.number().int().nonnegative().default(10_000),
});

export type AzureMonitorSinkConfig = z.input<typeof AzureMonitorSinkConfig>;
export type ResolvedAzureMonitorSinkConfig = z.output<typeof AzureMonitorSinkConfig>;

/** Validates a sink configuration; throws `CONFIG_INVALID` naming each bad key. */
export function parseAzureMonitorSinkConfig(config: unknown): ResolvedAzureMonitorSinkConfig {
  const parsed = AzureMonitorSinkConfig.safeParse(config);
  if (!parsed.success) {
    throw new McpwatchError('CONFIG_INVALID', `azure-monitor sink: ${describeIssues(issuesOf(parsed.error))}`);
  }
  return parsed.data;
}
