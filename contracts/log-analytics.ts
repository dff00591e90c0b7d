/**
 * Log Analytics custom tables derived from the zod contracts, the one source of truth: the deployment
 * templates (table + data collection rule stream columns), the KQL schemas dashboards compile against and the
 * local Logs Ingestion stand-in all take their columns from here, and `toRow` shapes what sinks upload.
 *
 * The mapping: top-level fields become PascalCase columns; nested objects are flattened one level
 * (`server.name` → `ServerName`); arrays, maps and deeper objects become `dynamic`; `time` becomes
 * `TimeGenerated`, the column every Log Analytics table has.
 */
import { z } from 'zod';
import { Alert } from './alert.ts';
import { McpEvent } from './mcp-event.ts';

export type LogAnalyticsType = 'string' | 'int' | 'long' | 'real' | 'boolean' | 'datetime' | 'dynamic';

export interface TableColumn {
  name: string;
  type: LogAnalyticsType;
  /**
   * The contract paths the column comes from, e.g. `server.name`. Several when event kinds carry one fact in
   * different places (`tokenFingerprint` on calls, `token.fingerprint` on auth): one column serves joins.
   */
  sources: string[];
}

export interface TableSchema {
  /** Custom table name, with the `_CL` suffix Log Analytics requires. */
  name: string;
  /** Data collection rule input stream: `Custom-` + table name without `_CL`. */
  streamName: string;
  description: string;
  columns: TableColumn[];
}

type JsonSchema = {
  type?: string | string[];
  format?: string;
  properties?: Record<string, JsonSchema>;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
};

function pascalCase(name: string): string {
  return name.replace(/(^|[-_])([a-z0-9])/g, (_match, _separator: string, letter: string) => letter.toUpperCase());
}

function scalarType(schema: JsonSchema): LogAnalyticsType {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants !== undefined) {
    const types = new Set(variants.map(scalarType));
    return types.size === 1 ? [...types][0]! : 'dynamic';
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return schema.format === 'date-time' ? 'datetime' : 'string';
    case 'integer':
      return 'long';
    case 'number':
      return Number.isInteger(schema.const) ? 'long' : 'real';
    case 'boolean':
      return 'boolean';
    case undefined:
      if (typeof schema.const === 'string') return 'string';
      if (typeof schema.const === 'number') return Number.isInteger(schema.const) ? 'long' : 'real';
      if (schema.enum?.every((value) => typeof value === 'string')) return 'string';
      return 'dynamic';
    default:
      return 'dynamic';
  }
}

function isFlattenableObject(schema: JsonSchema): schema is JsonSchema & { properties: Record<string, JsonSchema> } {
  return schema.type === 'object' && schema.properties !== undefined && Object.keys(schema.properties).length > 0;
}

function columnsOfObject(variants: readonly JsonSchema[]): TableColumn[] {
  const columns = new Map<string, TableColumn>();
  const add = (column: TableColumn): void => {
    const existing = columns.get(column.name);
    if (existing === undefined) columns.set(column.name, column);
    else if (existing.type !== column.type) {
      throw new Error(
        `Column ${column.name} is both ${existing.type} (${existing.sources.join(', ')}) and ${column.type}`,
      );
    } else {
      for (const source of column.sources) if (!existing.sources.includes(source)) existing.sources.push(source);
    }
  };
  for (const variant of variants) {
    for (const [field, schema] of Object.entries(variant.properties ?? {})) {
      if (field === 'time') {
        add({ name: 'TimeGenerated', type: 'datetime', sources: ['time'] });
      } else if (isFlattenableObject(schema)) {
        for (const [child, childSchema] of Object.entries(schema.properties)) {
          const type = isFlattenableObject(childSchema) ? 'dynamic' : scalarType(childSchema);
          add({ name: pascalCase(field) + pascalCase(child), type, sources: [`${field}.${child}`] });
        }
      } else {
        add({ name: pascalCase(field), type: scalarType(schema), sources: [field] });
      }
    }
  }
  return [...columns.values()];
}

function variantsOf(schema: z.ZodType): JsonSchema[] {
  const json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  return json.oneOf ?? json.anyOf ?? [json];
}

export const ALERTS_TABLE: TableSchema = {
  name: 'MCPWatchAlerts_CL',
  streamName: 'Custom-MCPWatchAlerts',
  description: 'mcpwatch detections: one row per alert delivery; AlertId is deterministic, so repeats share it.',
  columns: columnsOfObject(variantsOf(Alert)),
};

export const EVENTS_TABLE: TableSchema = {
  name: 'MCPWatchEvents_CL',
  streamName: 'Custom-MCPWatchEvents',
  description:
    'mcpwatch normalized MCP security audit events (calls, auth, sessions, tool catalogs, outbound, input requests) and classifier verdicts.',
  columns: columnsOfObject(variantsOf(McpEvent)),
};

export const TABLES: readonly TableSchema[] = [ALERTS_TABLE, EVENTS_TABLE];

/** The row a sink uploads for one alert or event: exactly the table's columns, absent values omitted. */
export function toRow(table: TableSchema, record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const column of table.columns) {
    for (const source of column.sources) {
      const value = valueAt(record, source);
      if (value !== undefined) {
        row[column.name] = value;
        break;
      }
    }
  }
  return row;
}

function valueAt(record: Readonly<Record<string, unknown>>, path: string): unknown {
  const [field, child] = path.split('.') as [string, string | undefined];
  const value = record[field];
  if (child === undefined) return value;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[child] : undefined;
}
