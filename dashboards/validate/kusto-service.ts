/**
 * Compiles KQL offline with Microsoft's Kusto language service (`@kusto/language-service-next`, Kusto.Language
 * compiled to JavaScript by Bridge.NET) against a database schema we declare: the answer a workspace would give
 * about names, types and the result columns, without a workspace.
 *
 * The package installs its classes on `globalThis` when its two scripts are evaluated; only the handful of
 * members used here are typed below.
 */
import { createRequire } from 'node:module';
import { McpwatchError } from '../../contracts/errors.ts';
import type { LogAnalyticsType } from '../../contracts/log-analytics.ts';

/** A column type as Log Analytics declares it, plus the two scalar types only queries produce. */
export type KustoColumnType = LogAnalyticsType | 'bool' | 'guid' | 'timespan';

export interface KustoColumn {
  name: string;
  type: KustoColumnType;
}

export interface KustoTable {
  name: string;
  description: string;
  columns: readonly KustoColumn[];
}

/** A tabular function such as an ASIM parser: `parameters` is a KQL parameter list, `body` a KQL body. */
export interface KustoFunction {
  name: string;
  description: string;
  parameters: string;
  body: string;
}

export interface KustoDatabase {
  name: string;
  tables: readonly KustoTable[];
  functions: readonly KustoFunction[];
}

export interface QueryDiagnostic {
  severity: 'error' | 'warning';
  /** Language service code, e.g. `KS142` (unknown name). */
  code: string;
  message: string;
  /** 1-based, within the query text. */
  line: number;
  column: number;
  /** 0-based character offset of the diagnostic in the query text, and its length. */
  offset: number;
  length: number;
}

export interface CompiledQuery {
  diagnostics: QueryDiagnostic[];
  /** Columns of the query's tabular result; undefined when the result is not a table (or did not compile). */
  resultColumns: KustoColumn[] | undefined;
}

interface BridgeList<T> {
  Count: number;
  getItem(index: number): T;
}
interface BridgeDiagnostic {
  Code: string;
  Message: string;
  Severity: string;
  Start: number;
  Length: number;
}
interface BridgeTypeSymbol {
  Name: string;
  Columns?: BridgeList<{ Name: string; Type: BridgeTypeSymbol }>;
}
interface BridgeKustoCode {
  GetDiagnostics(): BridgeList<BridgeDiagnostic>;
  ResultType: BridgeTypeSymbol | null;
  TryGetLineAndOffset(position: number, line: { v: number }, lineOffset: { v: number }): boolean;
}
interface BridgeSymbol {
  readonly __symbol: unique symbol;
}
interface BridgeGlobalState {
  WithDatabase(database: BridgeSymbol): BridgeGlobalState;
}
interface KustoLanguage {
  GlobalState: { Default: BridgeGlobalState };
  KustoCode: { ParseAndAnalyze(text: string, globals: BridgeGlobalState): BridgeKustoCode };
  Symbols: {
    TableSymbol: { $ctor7: new (name: string, schema: string, description: string) => BridgeSymbol };
    FunctionSymbol: {
      $ctor16: new (name: string, parameterList: string, body: string, description: string) => BridgeSymbol;
    };
    DatabaseSymbol: { $ctor2: new (name: string, alternateName: null, members: BridgeSymbol[]) => BridgeSymbol };
  };
}

let language: KustoLanguage | undefined;

/**
 * Loads the language service once (about half a second). It is a development dependency: 31 MB that only
 * `mcpwatch validate` uses, so an installed `mcpwatch` asks for it instead of shipping it to every pipeline.
 */
function kustoLanguage(): KustoLanguage {
  if (language === undefined) {
    const require = createRequire(import.meta.url);
    try {
      require.resolve('@kusto/language-service-next/bridge.js');
    } catch (error) {
      throw new McpwatchError(
        'CONFIG_INVALID',
        "Compiling KQL needs Microsoft's Kusto language service, which mcpwatch does not install: run `npm install @kusto/language-service-next` beside mcpwatch",
        { cause: error },
      );
    }
    require('@kusto/language-service-next/bridge.js');
    require('@kusto/language-service-next/Kusto.Language.Bridge.js');
    language = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;
  }
  return language;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function kustoType(type: KustoColumnType): string {
  return type === 'boolean' ? 'bool' : type;
}

function tableSchemaText(table: KustoTable): string {
  for (const column of table.columns) {
    if (!IDENTIFIER.test(column.name)) throw new Error(`Column ${table.name}.${column.name} is not a KQL identifier`);
  }
  return `(${table.columns.map((column) => `${column.name}:${kustoType(column.type)}`).join(', ')})`;
}

/** Compiles queries against one database; build it once and reuse it (symbols are immutable). */
export class QueryCompiler {
  readonly #globals: BridgeGlobalState;
  readonly #language: KustoLanguage;
  /** Tables of the database, for checks that name tables outside a query (a rule's data types). */
  readonly tableNames: ReadonlySet<string>;

  constructor(database: KustoDatabase) {
    this.tableNames = new Set(database.tables.map((table) => table.name));
    this.#language = kustoLanguage();
    const { Symbols } = this.#language;
    const members: BridgeSymbol[] = [
      ...database.tables.map(
        (table) => new Symbols.TableSymbol.$ctor7(table.name, tableSchemaText(table), table.description),
      ),
      ...database.functions.map(
        (fn) => new Symbols.FunctionSymbol.$ctor16(fn.name, fn.parameters, fn.body, fn.description),
      ),
    ];
    const symbol = new Symbols.DatabaseSymbol.$ctor2(database.name, null, members);
    this.#globals = this.#language.GlobalState.Default.WithDatabase(symbol);
  }

  compile(text: string): CompiledQuery {
    const code = this.#language.KustoCode.ParseAndAnalyze(text, this.#globals);
    const diagnostics: QueryDiagnostic[] = [];
    const found = code.GetDiagnostics();
    for (let index = 0; index < found.Count; index++) {
      const diagnostic = found.getItem(index);
      // Suggestions and informational hints are style advice, not defects.
      if (diagnostic.Severity !== 'Error' && diagnostic.Severity !== 'Warning') continue;
      const line = { v: 1 };
      const column = { v: 1 };
      code.TryGetLineAndOffset(diagnostic.Start, line, column);
      diagnostics.push({
        severity: diagnostic.Severity === 'Error' ? 'error' : 'warning',
        code: diagnostic.Code,
        message: diagnostic.Message,
        line: line.v,
        column: column.v,
        offset: diagnostic.Start,
        length: diagnostic.Length,
      });
    }
    return { diagnostics, resultColumns: resultColumnsOf(code.ResultType) };
  }
}

function resultColumnsOf(type: BridgeTypeSymbol | null): KustoColumn[] | undefined {
  if (type?.Columns === undefined || type.Columns === null) return undefined;
  const columns: KustoColumn[] = [];
  for (let index = 0; index < type.Columns.Count; index++) {
    const column = type.Columns.getItem(index);
    columns.push({ name: column.Name, type: column.Type.Name as KustoColumnType });
  }
  return columns;
}
