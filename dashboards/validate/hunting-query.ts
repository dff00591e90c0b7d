/**
 * Hunting queries: one `.kql` file each, opening with a comment header an analyst reads before running it:
 *
 *   // Name: ...
 *   // Purpose: ...
 *   // Tactics: CredentialAccess, LateralMovement
 *   // Techniques: T1550.001
 *   // How to read: ...
 *
 * The whole file is the query (KQL comments included), so positions are file positions.
 */
import { SENTINEL_TACTICS, parentTechnique } from './attack.ts';
import { placeQueryDiagnostic, type Diagnostic } from './diagnostic.ts';
import type { QueryCompiler } from './kusto-service.ts';

export const HUNTING_HEADER_FIELDS = ['Name', 'Purpose', 'Tactics', 'Techniques', 'How to read'] as const;

export interface HuntingHeader {
  fields: Map<string, { value: string; line: number }>;
}

export function parseHuntingHeader(text: string): HuntingHeader {
  const fields = new Map<string, { value: string; line: number }>();
  const lines = text.split('\n');
  let current: string | undefined;
  for (const [index, line] of lines.entries()) {
    if (!line.startsWith('//')) break;
    const body = line.slice(2).trim();
    const field = /^([A-Za-z][A-Za-z ]*?):\s*(.*)$/.exec(body);
    if (field !== null && (HUNTING_HEADER_FIELDS as readonly string[]).includes(field[1]!)) {
      current = field[1]!;
      fields.set(current, { value: field[2]!, line: index + 1 });
    } else if (current !== undefined && body !== '') {
      const entry = fields.get(current)!;
      entry.value = `${entry.value} ${body}`.trim();
    }
  }
  return { fields };
}

export function checkHuntingQuery(file: string, text: string, compiler: QueryCompiler): Diagnostic[] {
  const { fields } = parseHuntingHeader(text);
  const name = fields.get('Name')?.value ?? file;
  const diagnostics: Diagnostic[] = [];
  const report = (line: number, message: string): void => {
    diagnostics.push({
      severity: 'error',
      file,
      query: name,
      line,
      column: 1,
      within: 'file',
      code: 'hunting-header',
      message,
    });
  };
  for (const field of HUNTING_HEADER_FIELDS) {
    if ((fields.get(field)?.value ?? '') === '') report(1, `header comment lacks "// ${field}: ..."`);
  }
  const tactics = fields.get('Tactics');
  for (const tactic of (tactics?.value ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)) {
    if (!(SENTINEL_TACTICS as readonly string[]).includes(tactic)) report(tactics!.line, `unknown tactic ${tactic}`);
  }
  const techniques = fields.get('Techniques');
  for (const technique of (techniques?.value ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)) {
    if (parentTechnique(technique) === undefined)
      report(techniques!.line, `${technique} is not an ATT&CK technique id`);
  }
  const compiled = compiler.compile(text);
  for (const diagnostic of compiled.diagnostics) {
    diagnostics.push(
      placeQueryDiagnostic(diagnostic, {
        file,
        query: name,
        line: diagnostic.line,
        column: diagnostic.column,
        within: 'file',
      }),
    );
  }
  if (compiled.diagnostics.length === 0 && compiled.resultColumns === undefined) {
    diagnostics.push({
      severity: 'error',
      file,
      query: name,
      line: 1,
      column: 1,
      within: 'file',
      code: 'hunting-query',
      message: 'query does not return a table',
    });
  }
  return diagnostics;
}
