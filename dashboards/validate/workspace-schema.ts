/**
 * The Log Analytics workspace the shipped KQL runs in, as the language service sees it: the mcpwatch tables
 * generated from the zod contracts plus the ASIM tables and parsers declared in `dashboards/kql/asim-schema.json`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TABLES, type TableSchema } from '../../contracts/log-analytics.ts';
import type { KustoColumn, KustoDatabase, KustoTable } from './kusto-service.ts';

/** Columns Log Analytics adds to every custom table; the contracts do not carry them. */
const STANDARD_COLUMNS: readonly KustoColumn[] = [
  { name: 'TenantId', type: 'string' },
  { name: 'Type', type: 'string' },
  { name: '_ResourceId', type: 'string' },
];

const ColumnType = z.enum([
  'string',
  'int',
  'long',
  'real',
  'bool',
  'boolean',
  'datetime',
  'dynamic',
  'guid',
  'timespan',
]);

const AsimSchemaFile = z.strictObject({
  $comment: z.string(),
  references: z.array(z.url()),
  tables: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string(),
      columns: z.array(z.strictObject({ name: z.string(), type: ColumnType })),
    }),
  ),
  functions: z.array(
    z.strictObject({ name: z.string(), description: z.string(), parameters: z.string(), body: z.string() }),
  ),
});

export const ASIM_SCHEMA_FILE = new URL('../kql/asim-schema.json', import.meta.url);

export function kustoTableOf(table: TableSchema): KustoTable {
  return {
    name: table.name,
    description: table.description,
    columns: [...table.columns.map(({ name, type }) => ({ name, type })), ...STANDARD_COLUMNS],
  };
}

export function workspaceDatabase(): KustoDatabase {
  const asim = AsimSchemaFile.parse(JSON.parse(readFileSync(ASIM_SCHEMA_FILE, 'utf8')));
  return {
    name: 'mcpwatch-workspace',
    tables: [...TABLES.map(kustoTableOf), ...asim.tables],
    functions: asim.functions,
  };
}

/** What a data collection rule transformation sees: its input stream as the table `source`. */
export function transformDatabase(columns: readonly KustoColumn[]): KustoDatabase {
  return {
    name: 'data-collection-rule',
    tables: [{ name: 'source', description: 'The incoming stream of the data flow.', columns }],
    functions: [],
  };
}
