/**
 * The data collection rule mcpwatch deploys, derived from the Log Analytics tables (the one source of truth):
 * stream declarations, data flows and the transformation. The templates, the sink defaults and the local
 * Logs Ingestion stand-in all read it from here.
 */
import { TABLES, type LogAnalyticsType, type TableSchema } from '../../collector/schema/log-analytics.ts';

/** The Logs Ingestion API version the sink and the stand-in speak. */
export const LOGS_INGESTION_API_VERSION = '2023-01-01';

/** Per request, compressed or not (Azure Monitor service limits, Logs Ingestion API). */
export const LOGS_INGESTION_MAX_REQUEST_BYTES = 1_048_576;

/**
 * Applied by the data collection rule to every stream. Kept trivial so it compiles against each stream's
 * declaration; `TimeGenerated` is declared `datetime` in the stream already, `todatetime` keeps it so when a
 * row carries the ISO string.
 */
export const TRANSFORM_KQL = 'source | extend TimeGenerated = todatetime(TimeGenerated)';

export interface StreamColumn {
  name: string;
  type: LogAnalyticsType;
}

export interface StreamDeclaration {
  columns: StreamColumn[];
}

export interface DataFlow {
  streams: string[];
  destinations: string[];
  transformKql: string;
  outputStream: string;
}

/** Name of the Log Analytics destination inside the rule. */
export const WORKSPACE_DESTINATION = 'mcpwatchWorkspace';

export function streamDeclarations(tables: readonly TableSchema[] = TABLES): Record<string, StreamDeclaration> {
  return Object.fromEntries(
    tables.map((table) => [
      table.streamName,
      { columns: table.columns.map((column) => ({ name: column.name, type: column.type })) },
    ]),
  );
}

export function dataFlows(tables: readonly TableSchema[] = TABLES): DataFlow[] {
  return tables.map((table) => ({
    streams: [table.streamName],
    destinations: [WORKSPACE_DESTINATION],
    transformKql: TRANSFORM_KQL,
    outputStream: `Custom-${table.name}`,
  }));
}

/** The table a stream lands in, or undefined when the rule declares no such stream. */
export function tableOfStream(streamName: string, tables: readonly TableSchema[] = TABLES): TableSchema | undefined {
  return tables.find((table) => table.streamName === streamName);
}
