/**
 * The one configuration of the detectors: which rules run and how, what the deployment looks like, engine
 * tuning and where alerts go. Read from a file and the environment by the CLI (`cli/detectors-config.ts`),
 * validated once at start: a bad value fails naming its key path and what was expected.
 */
import { z } from 'zod';
import { describeIssues, issuesOf } from '../contracts/parse.ts';
import { McpwatchError } from '../contracts/errors.ts';
import { TOPICS } from '../transport/topics.ts';
import { ClassifierConfig } from './classifier/config.ts';
import { AzureMonitorSinkConfig } from './sinks/azure-monitor-config.ts';
import { ALERT_FORMATS } from './sinks/format.ts';
import { SplunkHecSinkConfig } from './sinks/splunk-hec-config.ts';
import type { EnabledRule, EngineOptions } from './engine.ts';
import type { DetectionEnvironment, Rule } from './types.ts';

/** `mcpwatch`: the `Alert` contract as JSON; `ocsf`: an OCSF 1.8.0 Detection Finding (class 2004) per alert. */
export const AlertFormat = z.enum(ALERT_FORMATS);

/** Whether the sink also receives the audit events (`McpEvent`) of every events batch, not only alerts; false when absent. */
const auditEventsOption = z.boolean().optional();

export const KafkaSinkConfig = z
  .strictObject({
    type: z.literal('kafka'),
    /** Topic the alerts are produced to, keyed by alert id; default `mcp.alerts.v1`, or `mcp.alerts.ocsf.v1` for OCSF. */
    topic: z.string().min(1).max(249).optional(),
    /** What each record's value is; `mcpwatch` when absent. */
    format: AlertFormat.optional(),
    /** Also produce every audit event, keyed by event id, to `eventsTopic` (as OCSF API Activity in `ocsf`). */
    auditEvents: auditEventsOption,
    /** Topic of the audit events; default `mcp.events.ocsf.v1` for OCSF, required for `mcpwatch`. */
    eventsTopic: z.string().min(1).max(249).optional(),
  })
  .refine((config) => config.format !== 'ocsf' || config.topic !== TOPICS.alerts, {
    message: `${TOPICS.alerts} carries mcpwatch alerts; OCSF records go to another topic (default ${TOPICS.alertsOcsf})`,
    path: ['topic'],
  })
  .refine((config) => !config.auditEvents || config.format === 'ocsf' || config.eventsTopic !== undefined, {
    message: `the audit events are in ${TOPICS.events} as mcpwatch JSON already; name another topic to copy them to, or use format: ocsf (default ${TOPICS.eventsOcsf})`,
    path: ['eventsTopic'],
  })
  .refine(
    (config) =>
      config.eventsTopic === undefined ||
      ![TOPICS.events, TOPICS.alerts, TOPICS.alertsOcsf, config.topic].includes(config.eventsTopic),
    {
      message: `the audit events need a topic of their own: not the events topic the detectors read, nor an alerts topic`,
      path: ['eventsTopic'],
    },
  );

export const FileSinkConfig = z
  .strictObject({
    type: z.literal('file'),
    /** JSON Lines file the alerts are appended to (fsync'd before delivery is confirmed). */
    path: z.string().min(1),
    /** What each line is; `mcpwatch` when absent. */
    format: AlertFormat.optional(),
    /** Also append every audit event to `eventsPath` (as OCSF API Activity in `ocsf`). */
    auditEvents: auditEventsOption,
    /** JSON Lines file of the audit events; required with `auditEvents`. */
    eventsPath: z.string().min(1).optional(),
  })
  .refine((config) => !config.auditEvents || config.eventsPath !== undefined, {
    message: 'auditEvents needs eventsPath: the file the audit events are appended to',
    path: ['eventsPath'],
  })
  .refine((config) => config.eventsPath !== config.path, {
    message: 'the audit events need a file of their own, not the alerts file',
    path: ['eventsPath'],
  });

export const StdoutSinkConfig = z.strictObject({
  type: z.literal('stdout'),
  /** `text`: one readable line per alert; `json`: the alert as JSON Lines; `ocsf`: OCSF Detection Findings as JSON Lines. */
  format: z.enum(['text', 'json', 'ocsf']).default('text'),
});

export const WebhookSinkConfig = z.strictObject({
  type: z.literal('webhook'),
  /** Receives a POST with a JSON array of alerts; any 2xx confirms delivery. */
  url: z.url({ protocol: /^https?$/ }),
  /** What each element of the array is; `mcpwatch` when absent. */
  format: AlertFormat.optional(),
  /** Extra request headers, e.g. an `authorization` the receiver requires. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Per request, in ms; 5xx, 408, 429, timeouts and network errors fail retriably and the runtime retries. */
  timeoutMs: z.int().positive().max(300_000).default(10_000),
});

export const SinkConfig = z.discriminatedUnion('type', [
  KafkaSinkConfig,
  FileSinkConfig,
  StdoutSinkConfig,
  WebhookSinkConfig,
  AzureMonitorSinkConfig,
  SplunkHecSinkConfig,
]);

export const EngineTuning = z.strictObject({
  /**
   * How far behind the newest event time (ms) an event may arrive and still count as on time. Engines fed from
   * several partitions (scopes other than `session`, on more than one) hold each event this long to run them in
   * event-time order.
   */
  allowedLatenessMs: z.int().nonnegative().default(60_000),
  /** A key with no event for this long in event time (ms) is forgotten. */
  idleKeyTtlMs: z
    .int()
    .positive()
    .default(24 * 3_600_000),
  /** Hard cap on keys per rule and partition; past it the least recently seen key is evicted (counted). */
  maxKeysPerRule: z.int().positive().default(1_000_000),
  /** Findings of one rule about one subject within this period (ms) fold into the first alert. */
  suppressionMs: z.int().nonnegative().default(3_600_000),
  /**
   * An engine with no record for this long (wall ms) runs the events it holds and moves to the newest event time
   * of its instance.
   */
  idlePartitionMs: z.int().min(100).max(86_400_000).default(30_000),
});

export const EnvironmentConfig = z.strictObject({
  /** The inventory of MCP servers by `server.name`; empty means no inventory is declared. */
  knownServers: z.array(z.string().min(1).max(256)).max(100_000).default([]),
  /** Token issuers (`iss`) accepted anywhere. */
  trustedIssuers: z.array(z.string().min(1).max(2048)).max(1_000).default([]),
  /** Audiences accepted per server name, besides the server's own resource identifier. */
  expectedAudiences: z.record(z.string(), z.array(z.string().min(1).max(2048)).max(1_000)).default({}),
});

export const OpsConfig = z.strictObject({
  /** Address of the `/healthz`, `/readyz` and `/metrics` server; loopback unless you mean it. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port of that server; 0 picks a free one, absent disables it. */
  port: z.int().min(0).max(65_535).optional(),
});

/** The rule section of one rule: `enabled` plus its own options, validated by the rule's `configSchema`. */
function ruleSection(rule: Rule<unknown, unknown>) {
  return z.strictObject({
    /** Whether the rule runs. */
    enabled: z.boolean().default(true),
    /** The rule's own options (see its documentation); defaults apply to what is left out. */
    config: rule.configSchema.optional(),
  });
}

/** The configuration schema for a rule catalog: rule options are validated by each rule's own schema. */
export function detectorsConfigSchema(catalog: readonly Rule<unknown, unknown>[]) {
  const rules = Object.fromEntries(catalog.map((rule) => [rule.meta.id, ruleSection(rule).optional()]));
  return z.strictObject({
    /** Consumer group of the detectors; instances with one group share the partitions. */
    groupId: z.string().min(1).max(249).default('mcpwatch-detectors'),
    /** Per rule id: `enabled` and `config`; a rule left out runs with its defaults. */
    rules: z.strictObject(rules).default({}),
    /** Facts about the deployment every rule may consult. */
    environment: EnvironmentConfig.default(EnvironmentConfig.parse({})),
    /** Event-time and state limits of the engine. */
    engine: EngineTuning.default(EngineTuning.parse({})),
    /** Where alerts go; each must confirm delivery before offsets are committed. */
    sinks: z
      .array(SinkConfig)
      .min(1)
      .max(16)
      .default([{ type: 'stdout', format: 'text' }]),
    /** Health, readiness and Prometheus metrics endpoint. */
    ops: OpsConfig.default(OpsConfig.parse({})),
    /** An optional classifier backend whose verdicts become `classification` events (`classifier/`); off when absent. */
    classifier: ClassifierConfig.optional(),
  });
}

export type SinkConfig = z.infer<typeof SinkConfig>;
export type KafkaSinkConfig = z.infer<typeof KafkaSinkConfig>;
export type FileSinkConfig = z.infer<typeof FileSinkConfig>;
export type StdoutSinkConfig = z.infer<typeof StdoutSinkConfig>;
export type WebhookSinkConfig = z.infer<typeof WebhookSinkConfig>;
export type EngineTuning = z.infer<typeof EngineTuning>;
export type EnvironmentConfig = z.infer<typeof EnvironmentConfig>;
export type OpsConfig = z.infer<typeof OpsConfig>;

/** A validated configuration together with the catalog it was validated against. */
export interface DetectorsConfig {
  groupId: string;
  /** The enabled rules with their parsed options, in catalog order. */
  rules: EnabledRule[];
  environment: DetectionEnvironment;
  engine: EngineTuning;
  sinks: SinkConfig[];
  ops: OpsConfig;
  classifier?: ClassifierConfig;
}

/** Validates a configuration object against a rule catalog; throws `CONFIG_INVALID` naming every bad key. */
export function parseDetectorsConfig(input: unknown, catalog: readonly Rule<unknown, unknown>[]): DetectorsConfig {
  const result = detectorsConfigSchema(catalog).safeParse(input ?? {});
  if (!result.success) {
    throw new McpwatchError(
      'CONFIG_INVALID',
      `Invalid detectors configuration: ${describeIssues(issuesOf(result.error))}`,
    );
  }
  const sections = result.data.rules as Record<string, { enabled: boolean; config?: unknown } | undefined>;
  const rules: EnabledRule[] = [];
  for (const rule of catalog) {
    const section = sections[rule.meta.id];
    if (section?.enabled === false) continue;
    rules.push({ rule, config: section?.config ?? rule.configSchema.parse({}) });
  }
  return {
    groupId: result.data.groupId,
    rules,
    environment: result.data.environment,
    engine: result.data.engine,
    sinks: result.data.sinks,
    ops: result.data.ops,
    ...(result.data.classifier === undefined ? {} : { classifier: result.data.classifier }),
  };
}

/** The engine options a configuration asks for. */
export function engineOptionsOf(config: DetectorsConfig): EngineOptions {
  return { rules: config.rules, environment: config.environment, ...config.engine };
}

/** The configuration as JSON Schema (draft 2020-12), for `mcpwatch config schema` and editors. */
export function detectorsConfigJsonSchema(catalog: readonly Rule<unknown, unknown>[]): Record<string, unknown> {
  return z.toJSONSchema(detectorsConfigSchema(catalog), { io: 'input', unrepresentable: 'any' });
}
