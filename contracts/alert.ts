import { z } from 'zod';

/** What a detector emits and every sink delivers. Alerts are data, not errors. */
export const ALERT_SCHEMA_VERSION = 1;

export const Severity = z.enum(['informational', 'low', 'medium', 'high', 'critical']);

/** OWASP MCP Top 10 (2025) category codes. */
export const OwaspMcpCode = z.enum([
  'MCP01',
  'MCP02',
  'MCP03',
  'MCP04',
  'MCP05',
  'MCP06',
  'MCP07',
  'MCP08',
  'MCP09',
  'MCP10',
]);

/** MITRE ATT&CK (`T1550.001`) or ATLAS (`AML.T0051.001`) technique id. */
export const TechniqueId = z
  .string()
  .regex(/^(T\d{4}(\.\d{3})?|AML\.T\d{4}(\.\d{3})?)$/, 'expected an ATT&CK or ATLAS technique id');

export const AlertEntities = z.looseObject({
  /** Principal id as the events carry it (pseudonymous unless configured otherwise). */
  user: z.string().max(512).optional(),
  session: z.string().max(1024).optional(),
  server: z.string().max(256).optional(),
  tool: z.string().max(512).optional(),
  client: z.string().max(256).optional(),
  ip: z.string().max(128).optional(),
});

export const Alert = z.looseObject({
  schemaVersion: z.literal(ALERT_SCHEMA_VERSION),
  /** Deterministic: the same rule, rule version, entity and window give the same id, so repeats can be removed. */
  alertId: z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 hex digits'),
  ruleId: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected a kebab-case rule id'),
  ruleVersion: z.number().int().positive(),
  severity: Severity,
  title: z.string().min(1).max(256),
  description: z.string().max(4096),
  /** Event time of the event that completed the detection. */
  time: z.iso.datetime({ offset: true }),
  entities: AlertEntities,
  /** Short, redacted, enough for an analyst to act: never a raw token or secret. */
  evidence: z.record(z.string(), z.unknown()),
  owasp: z.array(OwaspMcpCode).max(10),
  attack: z.array(TechniqueId).max(32),
  /** Events that contributed, newest last (bounded). */
  eventIds: z.array(z.string().max(256)).max(32).default([]),
  /** How many detections the suppression window folded into this alert. */
  count: z.number().int().positive().default(1),
});

export type Severity = z.infer<typeof Severity>;
export type OwaspMcpCode = z.infer<typeof OwaspMcpCode>;
export type AlertEntities = z.infer<typeof AlertEntities>;
export type Alert = z.infer<typeof Alert>;
