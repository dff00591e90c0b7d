import type { QueryDiagnostic } from './kusto-service.ts';

/** One finding of `validateDashboards`: precise enough to jump to the spot and fix it. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Path relative to the validated root, with `/` separators. */
  file: string;
  /** Which query or element of the file: a rule's name, a workbook item, a hunting query, a data flow. */
  query: string;
  /**
   * 1-based position. In the file for `.kql` and `.yaml` (`within: 'file'`); in the query text for workbook
   * items, whose queries are JSON strings (`within: 'query'`).
   */
  line: number;
  column: number;
  within: 'file' | 'query';
  /** Language service code (`KS142`) or an mcpwatch check (`rule-duration`, `entity-mapping`, ...). */
  code: string;
  message: string;
}

/** `file:line:column` (or `file [query line:column]` inside a workbook query), severity, code, message. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const { file, query, line, column, severity, code, message } = diagnostic;
  const where = diagnostic.within === 'file' ? `${file}:${line}:${column}` : `${file} (query line ${line}:${column})`;
  return `${where} ${severity} ${code} in ${JSON.stringify(query)}: ${message}`;
}

/** A language service diagnostic placed in a file. */
export function placeQueryDiagnostic(
  diagnostic: QueryDiagnostic,
  place: Pick<Diagnostic, 'file' | 'query' | 'line' | 'column' | 'within'>,
): Diagnostic {
  return { severity: diagnostic.severity, ...place, code: diagnostic.code, message: diagnostic.message };
}
