/**
 * ASIM parsers: one YAML file each under `dashboards/parsers/`, in the Azure-Sentinel repository's parser format
 * (`ParserName`, `Normalization.Schema`, `ParserParams`, `ParserQuery`). Each is compiled with its parameters
 * bound, and its result checked against the schema's columns: the result of the schema's unifying parser as
 * declared in `dashboards/kql/asim-schema.json` (`_Im_<Schema>`), plus the ASIM common fields a parser may add.
 * A parser then becomes a function the hunting queries, rules and workbooks compile against.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Diagnostic } from './diagnostic.ts';
import type { KustoColumn, KustoFunction, QueryCompiler } from './kusto-service.ts';

export const AsimParser = z.looseObject({
  Parser: z.looseObject({ Title: z.string().min(1), Version: z.string().min(1) }),
  Normalization: z.looseObject({ Schema: z.enum(['AgentEvent']), Version: z.string().min(1) }),
  Description: z.string().min(1),
  ParserName: z
    .string()
    .regex(
      /^(ASim|vim)AgentEvent[A-Z][A-Za-z0-9]*$/,
      'expected ASimAgentEvent<Vendor><Product> or vimAgentEvent<Vendor><Product>',
    ),
  ParserParams: z
    .array(
      z.strictObject({
        Name: z.string().regex(/^[a-z_][a-z0-9_]*$/),
        Type: z.enum(['datetime', 'dynamic', 'bool', 'string', 'int', 'long']),
        Default: z.union([z.string(), z.boolean(), z.number()]),
      }),
    )
    .default([]),
  ParserQuery: z.string().min(1),
});
export type AsimParser = z.infer<typeof AsimParser>;

/** Filtering parameters the Agent Event schema documents; a `vim` parser takes them all. */
export const AGENT_EVENT_FILTERS = [
  'starttime',
  'endtime',
  'agentid_has_any',
  'agentname_has_any',
  'username_has_any',
  'disabled',
] as const;

/** Fields every ASIM parser returns (common fields, mandatory in every schema). */
export const MANDATORY_COLUMNS = [
  'TimeGenerated',
  'Type',
  'EventCount',
  'EventStartTime',
  'EventEndTime',
  'EventType',
  'EventSchema',
  'EventSchemaVersion',
  'EventVendor',
  'EventProduct',
  'Dvc',
] as const;

/** ASIM common fields a parser may return besides its schema's own (common fields reference). */
export const COMMON_COLUMNS: readonly KustoColumn[] = [
  { name: 'EventResult', type: 'string' },
  { name: 'EventResultDetails', type: 'string' },
  { name: 'EventMessage', type: 'string' },
  { name: 'EventSeverity', type: 'string' },
  { name: 'Dvc', type: 'string' },
  { name: 'DvcHostname', type: 'string' },
  { name: 'DvcIpAddr', type: 'string' },
];

export interface CheckedParser {
  diagnostics: Diagnostic[];
  /** The parser as a workspace function, when it compiled. */
  function?: KustoFunction;
}

const normalizeType = (type: string): string => (type === 'boolean' ? 'bool' : type === 'double' ? 'real' : type);

/** The parser's parameters as a KQL parameter list: `(name:type=default, ...)`. */
export function parameterList(parser: AsimParser): string {
  return `(${parser.ParserParams.map((param) => `${param.Name}:${param.Type}=${String(param.Default)}`).join(', ')})`;
}

export function checkAsimParser(file: string, text: string, compiler: QueryCompiler): CheckedParser {
  const diagnostics: Diagnostic[] = [];
  const report = (code: string, message: string, query = file): void => {
    diagnostics.push({ severity: 'error', file, query, line: 1, column: 1, within: 'file', code, message });
  };
  let parsed: ReturnType<typeof AsimParser.safeParse>;
  try {
    parsed = AsimParser.safeParse(parseYaml(text));
  } catch (error) {
    report('parser-yaml', `not YAML: ${(error as Error).message}`);
    return { diagnostics };
  }
  if (!parsed.success) {
    for (const issue of parsed.error.issues) report('parser-yaml', `${issue.path.join('.')}: ${issue.message}`);
    return { diagnostics };
  }
  const parser = parsed.data;
  const name = parser.ParserName;
  if (!file.endsWith(`/${name}.yaml`)) report('parser-name', `the file of ${name} is ${name}.yaml`, name);
  const params = new Set(parser.ParserParams.map((param) => param.Name));
  const expected = name.startsWith('vim') ? AGENT_EVENT_FILTERS : (['disabled'] as const);
  for (const param of expected) {
    if (!params.has(param)) report('parser-params', `lacks the parameter ${param}`, name);
  }

  // The query as the function body sees it: each parameter bound to its default. The `let` lines come first,
  // so language service lines are shifted back onto the ParserQuery.
  const bindings = parser.ParserParams.map((param) => `let ${param.Name} = ${String(param.Default)};`);
  const compiled = compiler.compile([...bindings, parser.ParserQuery].join('\n'));
  const queryLine = text.split('\n').findIndex((line) => line.startsWith('ParserQuery:')) + 2;
  for (const diagnostic of compiled.diagnostics) {
    diagnostics.push({
      severity: diagnostic.severity,
      file,
      query: name,
      line: queryLine + diagnostic.line - 1 - bindings.length,
      column: diagnostic.column + 2,
      within: 'file',
      code: diagnostic.code,
      message: diagnostic.message,
    });
  }
  if (compiled.diagnostics.some((diagnostic) => diagnostic.severity === 'error')) return { diagnostics };
  if (compiled.resultColumns === undefined) {
    report('parser-result', 'does not return a table', name);
    return { diagnostics };
  }

  const schema = compiler.compile(`_Im_${parser.Normalization.Schema}()`).resultColumns ?? [];
  const allowed = new Map([...schema, ...COMMON_COLUMNS].map((column) => [column.name, normalizeType(column.type)]));
  const returned = new Map(compiled.resultColumns.map((column) => [column.name, normalizeType(column.type)]));
  for (const [column, type] of returned) {
    const want = allowed.get(column);
    if (want === undefined) {
      report('parser-column', `returns ${column}, which is not in the ${parser.Normalization.Schema} schema`, name);
    } else if (want !== type) report('parser-column', `returns ${column} as ${type}; the schema says ${want}`, name);
  }
  for (const column of MANDATORY_COLUMNS) {
    if (!returned.has(column)) report('parser-column', `lacks the mandatory column ${column}`, name);
  }
  return {
    diagnostics,
    function: {
      name,
      description: parser.Parser.Title,
      parameters: parameterList(parser),
      body: `{\n${parser.ParserQuery}\n}`,
    },
  };
}
