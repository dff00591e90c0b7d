/**
 * Sentinel analytics rules in the Azure-Sentinel repository YAML format: parsed, checked against the
 * constraints Sentinel enforces when the rule is deployed, and their query compiled. Positions point into the
 * YAML file, including inside the `query: |` block.
 */
import { LineCounter, parseDocument, isScalar, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { SENTINEL_TACTICS, TECHNIQUE_TACTICS, parentTechnique } from './attack.ts';
import { placeQueryDiagnostic, type Diagnostic } from './diagnostic.ts';
import type { KustoColumn, QueryCompiler } from './kusto-service.ts';
import { ALERT_DYNAMIC_PROPERTIES, ENTITY_IDENTIFIERS } from './sentinel-entities.ts';

/** Sentinel limits (analytics rule API, 2023-02-01 and later). */
export const RULE_LIMITS = {
  minQueryFrequencyMinutes: 5,
  maxQueryFrequencyMinutes: 14 * 24 * 60,
  maxQueryPeriodMinutes: 14 * 24 * 60,
  maxThreshold: 10_000,
  maxEntityMappings: 5,
  maxIdentifiersPerMapping: 3,
  maxCustomDetails: 20,
  maxCustomDetailKeyLength: 20,
  maxQueryLength: 10_000,
  maxFormatParameters: 3,
} as const;

const FieldMapping = z.strictObject({ identifier: z.string().min(1), columnName: z.string().min(1) });

const EntityMapping = z.strictObject({ entityType: z.string().min(1), fieldMappings: z.array(FieldMapping).min(1) });

const AlertDetailsOverride = z.strictObject({
  alertDisplayNameFormat: z.string().min(1).max(256).optional(),
  alertDescriptionFormat: z.string().min(1).max(5000).optional(),
  alertSeverityColumnName: z.string().min(1).optional(),
  alertTacticsColumnName: z.string().min(1).optional(),
  alertDynamicProperties: z
    .array(z.strictObject({ alertProperty: z.enum(ALERT_DYNAMIC_PROPERTIES), value: z.string().min(1) }))
    .optional(),
});

const IncidentConfiguration = z.strictObject({
  createIncident: z.boolean(),
  groupingConfiguration: z
    .strictObject({
      enabled: z.boolean(),
      reopenClosedIncident: z.boolean(),
      lookbackDuration: z.string(),
      matchingMethod: z.enum(['AllEntities', 'AnyAlert', 'Selected']),
      groupByEntities: z.array(z.string()).default([]),
      groupByAlertDetails: z.array(z.enum(['DisplayName', 'Severity'])).default([]),
      groupByCustomDetails: z.array(z.string()).default([]),
    })
    .optional(),
});

export const AnalyticsRule = z.strictObject({
  /** A GUID, unique across all shipped rules and stable across versions: Sentinel tracks the template by it. */
  id: z.guid(),
  name: z.string().min(1).max(256),
  description: z.string().min(1).max(5000),
  severity: z.enum(['Informational', 'Low', 'Medium', 'High']),
  status: z.enum(['Available', 'Disabled']).optional(),
  requiredDataConnectors: z.array(
    z.strictObject({ connectorId: z.string().min(1), dataTypes: z.array(z.string().min(1)).min(1) }),
  ),
  /** `5m`, `1h`, `14d` (Azure-Sentinel YAML) or ISO 8601 (`PT5M`, `P14D`). */
  queryFrequency: z.string().optional(),
  queryPeriod: z.string().optional(),
  triggerOperator: z.enum(['gt', 'lt', 'eq', 'ne']).optional(),
  triggerThreshold: z.number().int().optional(),
  tactics: z.array(z.string()),
  relevantTechniques: z.array(z.string()),
  query: z.string().min(1),
  entityMappings: z.array(EntityMapping).optional(),
  customDetails: z.record(z.string(), z.string()).optional(),
  alertDetailsOverride: AlertDetailsOverride.optional(),
  eventGroupingSettings: z.strictObject({ aggregationKind: z.enum(['SingleAlert', 'AlertPerResult']) }).optional(),
  incidentConfiguration: IncidentConfiguration.optional(),
  suppressionEnabled: z.boolean().optional(),
  suppressionDuration: z.string().optional(),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a version like 1.0.0'),
  kind: z.enum(['Scheduled', 'NRT']),
  tags: z.array(z.string()).optional(),
});

export type AnalyticsRule = z.infer<typeof AnalyticsRule>;

/** Minutes in a duration written `5m`/`1h`/`14d` or ISO 8601 `PT5M`/`PT1H`/`P14D`; undefined when neither. */
export function durationMinutes(text: string): number | undefined {
  const short = /^(\d+)([mhd])$/.exec(text);
  if (short !== null) return Number(short[1]) * { m: 1, h: 60, d: 1440 }[short[2] as 'm' | 'h' | 'd'];
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(text);
  if (iso === null || text === 'P' || text.endsWith('T')) return undefined;
  return Number(iso[1] ?? 0) * 1440 + Number(iso[2] ?? 0) * 60 + Number(iso[3] ?? 0);
}

/** ISO 8601 form of a duration in minutes, as ARM templates carry it. */
export function isoDuration(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const date = days > 0 ? `${days}D` : '';
  const time = (hours > 0 ? `${hours}H` : '') + (rest > 0 ? `${rest}M` : '');
  if (date === '' && time === '') return 'PT0M';
  return `P${date}${time === '' ? '' : `T${time}`}`;
}

export interface CheckedRule {
  rule: AnalyticsRule | undefined;
  diagnostics: Diagnostic[];
  /** Where `id` and `name` sit in the file, for cross-file diagnostics. */
  positions: Record<'id' | 'name', { line: number; column: number }>;
}

type Path = readonly (string | number)[];

/** Parses and checks one rule file. Cross-file checks (unique ids) are the caller's. */
export function checkAnalyticsRule(file: string, text: string, compiler: QueryCompiler): CheckedRule {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const diagnostics: Diagnostic[] = [];
  let query = 'rule';
  const positions = {
    id: positionOf(document, lineCounter, ['id']),
    name: positionOf(document, lineCounter, ['name']),
  };

  const at = (path: Path, code: string, message: string, severity: Diagnostic['severity'] = 'error'): void => {
    const { line, column } = positionOf(document, lineCounter, path);
    diagnostics.push({ severity, file, query, line, column, within: 'file', code, message });
  };

  for (const error of document.errors) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    diagnostics.push({
      severity: 'error',
      file,
      query,
      line,
      column: col,
      within: 'file',
      code: 'yaml',
      message: error.message,
    });
  }
  if (document.errors.length > 0) return { rule: undefined, diagnostics, positions };

  const parsed = AnalyticsRule.safeParse(document.toJS());
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol');
      at(path, 'rule-schema', `${path.join('.') || 'rule'}: ${issue.message}`);
    }
    return { rule: undefined, diagnostics, positions };
  }
  const rule = parsed.data;
  query = rule.name;

  checkSchedule(rule, at);
  checkAttack(rule, at);
  rule.requiredDataConnectors.forEach((connector, index) => {
    connector.dataTypes.forEach((table, tableIndex) => {
      const path = ['requiredDataConnectors', index, 'dataTypes', tableIndex];
      if (!compiler.tableNames.has(table))
        at(path, 'rule-data-type', `data type ${table} is not a table of the workspace`);
      else if (!new RegExp(`\\b${table}\\b`).test(rule.query))
        at(path, 'rule-data-type', `data type ${table} is not queried`);
    });
  });

  const compiled = compiler.compile(rule.query);
  const queryNode = document.getIn(['query'], true) as Node | undefined;
  for (const diagnostic of compiled.diagnostics) {
    const { line, column } = queryPosition(text, lineCounter, queryNode, diagnostic.line, diagnostic.column);
    diagnostics.push(placeQueryDiagnostic(diagnostic, { file, query, line, column, within: 'file' }));
  }
  if (rule.query.length > RULE_LIMITS.maxQueryLength) {
    at(
      ['query'],
      'rule-query',
      `query is ${rule.query.length} characters; Sentinel accepts at most ${RULE_LIMITS.maxQueryLength}`,
    );
  }
  if (compiled.diagnostics.some((diagnostic) => diagnostic.severity === 'error'))
    return { rule, diagnostics, positions };
  if (compiled.resultColumns === undefined) {
    at(['query'], 'rule-query', 'query does not return a table');
    return { rule, diagnostics, positions };
  }
  checkResultReferences(rule, compiled.resultColumns, at);
  return { rule, diagnostics, positions };
}

type At = (path: Path, code: string, message: string, severity?: Diagnostic['severity']) => void;

function checkSchedule(rule: AnalyticsRule, at: At): void {
  if (rule.kind === 'NRT') {
    for (const key of ['queryFrequency', 'queryPeriod', 'triggerOperator', 'triggerThreshold'] as const) {
      if (rule[key] !== undefined)
        at([key], 'rule-schedule', `${key} is not allowed on an NRT rule (it runs every minute)`);
    }
    return;
  }
  const frequency = requiredDuration(rule, 'queryFrequency', at);
  const period = requiredDuration(rule, 'queryPeriod', at);
  const { minQueryFrequencyMinutes: min, maxQueryFrequencyMinutes: max, maxQueryPeriodMinutes } = RULE_LIMITS;
  if (frequency !== undefined && (frequency < min || frequency > max)) {
    at(['queryFrequency'], 'rule-duration', `queryFrequency ${rule.queryFrequency} is outside 5m..14d`);
  }
  if (period !== undefined && period > maxQueryPeriodMinutes) {
    at(['queryPeriod'], 'rule-duration', `queryPeriod ${rule.queryPeriod} is longer than 14d`);
  }
  if (frequency !== undefined && period !== undefined && period < frequency) {
    at(
      ['queryPeriod'],
      'rule-duration',
      `queryPeriod ${rule.queryPeriod} is shorter than queryFrequency ${rule.queryFrequency}: events between runs would never be queried`,
    );
  }
  if (rule.triggerOperator === undefined) at([], 'rule-trigger', 'triggerOperator is required on a Scheduled rule');
  if (rule.triggerThreshold === undefined) {
    at([], 'rule-trigger', 'triggerThreshold is required on a Scheduled rule');
  } else if (rule.triggerThreshold < 0 || rule.triggerThreshold > RULE_LIMITS.maxThreshold) {
    at(
      ['triggerThreshold'],
      'rule-trigger',
      `triggerThreshold ${rule.triggerThreshold} is outside 0..${RULE_LIMITS.maxThreshold}`,
    );
  } else if (rule.triggerOperator === 'lt' && rule.triggerThreshold === 0) {
    at(['triggerThreshold'], 'rule-trigger', 'triggerOperator lt with triggerThreshold 0 can never fire');
  }
}

function requiredDuration(rule: AnalyticsRule, key: 'queryFrequency' | 'queryPeriod', at: At): number | undefined {
  const text = rule[key];
  if (text === undefined) {
    at([], 'rule-duration', `${key} is required on a Scheduled rule`);
    return undefined;
  }
  const minutes = durationMinutes(text);
  if (minutes === undefined)
    at([key], 'rule-duration', `${key} ${JSON.stringify(text)} is not a duration like 5m, 1h, 14d or PT1H`);
  return minutes;
}

function checkAttack(rule: AnalyticsRule, at: At): void {
  const tactics = new Set<string>(SENTINEL_TACTICS);
  rule.tactics.forEach((tactic, index) => {
    if (!tactics.has(tactic))
      at(['tactics', index], 'rule-tactic', `unknown tactic ${tactic}; expected one of ${SENTINEL_TACTICS.join(', ')}`);
  });
  rule.relevantTechniques.forEach((technique, index) => {
    const parent = parentTechnique(technique);
    if (parent === undefined) {
      at(
        ['relevantTechniques', index],
        'rule-technique',
        `${technique} is not an ATT&CK technique id (T1234 or T1234.001)`,
      );
      return;
    }
    const techniqueTactics = TECHNIQUE_TACTICS[parent];
    if (techniqueTactics === undefined) {
      at(
        ['relevantTechniques', index],
        'rule-technique',
        `${technique} is not in dashboards/validate/attack.ts; add it with its ATT&CK tactics`,
      );
    } else if (!techniqueTactics.some((tactic) => rule.tactics.includes(tactic))) {
      at(
        ['relevantTechniques', index],
        'rule-technique',
        `${technique} belongs to ${techniqueTactics.join(', ')}, none of which is in tactics`,
      );
    }
  });
}

function checkResultReferences(rule: AnalyticsRule, columns: readonly KustoColumn[], at: At): void {
  const names = new Set(columns.map((column) => column.name));
  const known = (column: string): boolean => names.has(column);
  const missing = (column: string): string =>
    `column ${column} is not in the query result (${columns.length} columns: ${[...names].slice(0, 12).join(', ')}${names.size > 12 ? ', ...' : ''})`;

  const mappings = rule.entityMappings ?? [];
  if (mappings.length > RULE_LIMITS.maxEntityMappings) {
    at(
      ['entityMappings'],
      'entity-mapping',
      `${mappings.length} entity mappings; Sentinel accepts at most ${RULE_LIMITS.maxEntityMappings}`,
    );
  }
  mappings.forEach((mapping, index) => {
    const identifiers = ENTITY_IDENTIFIERS[mapping.entityType];
    if (identifiers === undefined) {
      at(
        ['entityMappings', index, 'entityType'],
        'entity-mapping',
        `unknown entity type ${mapping.entityType}; expected one of ${Object.keys(ENTITY_IDENTIFIERS).join(', ')}`,
      );
      return;
    }
    if (mapping.fieldMappings.length > RULE_LIMITS.maxIdentifiersPerMapping) {
      at(
        ['entityMappings', index, 'fieldMappings'],
        'entity-mapping',
        `${mapping.fieldMappings.length} identifiers for one ${mapping.entityType}; Sentinel accepts at most ${RULE_LIMITS.maxIdentifiersPerMapping}`,
      );
    }
    const seen = new Set<string>();
    mapping.fieldMappings.forEach((field, fieldIndex) => {
      const path = ['entityMappings', index, 'fieldMappings', fieldIndex];
      if (!identifiers.includes(field.identifier)) {
        at(
          [...path, 'identifier'],
          'entity-mapping',
          `${field.identifier} is not an identifier of ${mapping.entityType}; expected one of ${identifiers.join(', ')}`,
        );
      }
      if (seen.has(field.identifier))
        at([...path, 'identifier'], 'entity-mapping', `${mapping.entityType}.${field.identifier} is mapped twice`);
      seen.add(field.identifier);
      if (!known(field.columnName)) at([...path, 'columnName'], 'entity-mapping', missing(field.columnName));
    });
  });

  const details = Object.entries(rule.customDetails ?? {});
  if (details.length > RULE_LIMITS.maxCustomDetails) {
    at(
      ['customDetails'],
      'custom-details',
      `${details.length} custom details; Sentinel accepts at most ${RULE_LIMITS.maxCustomDetails}`,
    );
  }
  for (const [key, column] of details) {
    if (!/^[A-Za-z0-9]+$/.test(key) || key.length > RULE_LIMITS.maxCustomDetailKeyLength) {
      at(
        ['customDetails', key],
        'custom-details',
        `custom detail key ${JSON.stringify(key)} must be 1..${RULE_LIMITS.maxCustomDetailKeyLength} letters and digits`,
      );
    }
    if (!known(column)) at(['customDetails', key], 'custom-details', missing(column));
  }

  const override = rule.alertDetailsOverride;
  if (override !== undefined) {
    for (const key of ['alertDisplayNameFormat', 'alertDescriptionFormat'] as const) {
      const format = override[key];
      if (format === undefined) continue;
      const parameters = [...format.matchAll(/\{\{([^}]*)\}\}/g)].map((match) => match[1] ?? '');
      if (parameters.length > RULE_LIMITS.maxFormatParameters) {
        at(
          ['alertDetailsOverride', key],
          'alert-details',
          `${parameters.length} {{column}} parameters; Sentinel substitutes at most ${RULE_LIMITS.maxFormatParameters}`,
        );
      }
      for (const parameter of parameters) {
        if (!known(parameter)) at(['alertDetailsOverride', key], 'alert-details', missing(parameter));
      }
    }
    for (const key of ['alertSeverityColumnName', 'alertTacticsColumnName'] as const) {
      const column = override[key];
      if (column !== undefined && !known(column)) at(['alertDetailsOverride', key], 'alert-details', missing(column));
    }
    override.alertDynamicProperties?.forEach((property, index) => {
      if (!known(property.value))
        at(
          ['alertDetailsOverride', 'alertDynamicProperties', index, 'value'],
          'alert-details',
          missing(property.value),
        );
    });
  }

  const grouping = rule.incidentConfiguration?.groupingConfiguration;
  if (grouping !== undefined) {
    const mappedTypes = new Set(mappings.map((mapping) => mapping.entityType));
    grouping.groupByEntities.forEach((type, index) => {
      if (!mappedTypes.has(type))
        at(
          ['incidentConfiguration', 'groupingConfiguration', 'groupByEntities', index],
          'incident-grouping',
          `groups by ${type}, which no entity mapping provides`,
        );
    });
    grouping.groupByCustomDetails.forEach((key, index) => {
      if (rule.customDetails?.[key] === undefined)
        at(
          ['incidentConfiguration', 'groupingConfiguration', 'groupByCustomDetails', index],
          'incident-grouping',
          `groups by custom detail ${key}, which customDetails does not define`,
        );
    });
    if (durationMinutes(grouping.lookbackDuration) === undefined) {
      at(
        ['incidentConfiguration', 'groupingConfiguration', 'lookbackDuration'],
        'rule-duration',
        `lookbackDuration ${JSON.stringify(grouping.lookbackDuration)} is not a duration`,
      );
    }
  }
}

/** The deepest node on `path` that exists, as a 1-based file position. */
function positionOf(document: Document, lineCounter: LineCounter, path: Path): { line: number; column: number } {
  for (let length = path.length; length >= 0; length--) {
    const node = (length === 0 ? document.contents : document.getIn(path.slice(0, length), true)) as
      Node | null | undefined;
    if (node?.range !== undefined && node.range !== null) {
      const { line, col } = lineCounter.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return { line: 1, column: 1 };
}

/** Maps a position in the query text to the file: exact for a `|` block or a single-line scalar. */
function queryPosition(
  text: string,
  lineCounter: LineCounter,
  node: Node | undefined,
  line: number,
  column: number,
): { line: number; column: number } {
  if (node === undefined || !isScalar(node) || node.range === undefined || node.range === null) return { line, column };
  const start = lineCounter.linePos(node.range[0]);
  if (node.type === 'BLOCK_LITERAL') {
    const fileLine = start.line + line;
    const lineStart = lineCounter.lineStarts[fileLine - 1];
    const indent = lineStart === undefined ? 0 : /^ */.exec(text.slice(lineStart))![0].length;
    return { line: fileLine, column: indent + column };
  }
  if (line === 1 && (node.type === 'PLAIN' || node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) {
    return { line: start.line, column: start.col + column - 1 + (node.type === 'PLAIN' ? 0 : 1) };
  }
  return start.line === undefined ? { line, column } : { line: start.line, column: start.col };
}
