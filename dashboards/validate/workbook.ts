/**
 * Azure Monitor workbooks (`Notebook/1.0`): finds every Logs query (query items, and parameters whose choices
 * come from a query), substitutes each `{Parameter}` reference with a value of the parameter's type the way the
 * workbook renderer would, compiles the result and maps diagnostics back to the query as written.
 */
import { z } from 'zod';
import { placeQueryDiagnostic, type Diagnostic } from './diagnostic.ts';
import type { QueryCompiler } from './kusto-service.ts';

/** Workbook item types (`type` in the JSON): text, query, parameters, group. */
const ItemType = { text: 1, query: 3, parameters: 9, group: 12 } as const;

/** Parameter types (`type` of a parameter): text box, drop-down, time range picker. */
const ParameterType = { text: 1, dropdown: 2, timeRange: 4 } as const;

const Parameter = z.looseObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  type: z.number().int(),
  query: z.string().optional(),
  queryType: z.number().int().optional(),
  multiSelect: z.boolean().optional(),
  quote: z.string().optional(),
  delimiter: z.string().optional(),
});
type Parameter = z.infer<typeof Parameter>;

interface WorkbookItem {
  type: number;
  name?: string | undefined;
  content?:
    | {
        query?: string | undefined;
        queryType?: number | undefined;
        title?: string | undefined;
        parameters?: unknown[] | undefined;
        items?: WorkbookItem[] | undefined;
      }
    | undefined;
}

const Item: z.ZodType<WorkbookItem> = z.lazy(() =>
  z.looseObject({
    type: z.number().int(),
    name: z.string().optional(),
    content: z
      .looseObject({
        query: z.string().optional(),
        queryType: z.number().int().optional(),
        title: z.string().optional(),
        parameters: z.array(z.unknown()).optional(),
        items: z.array(Item).optional(),
      })
      .optional(),
  }),
);

const Workbook = z.looseObject({ version: z.literal('Notebook/1.0'), items: z.array(Item).min(1) });

/** One Logs query found in a workbook, with where it sits. */
export interface WorkbookQuery {
  /** `items/2/content/items/0 "Alerts over time"`: the JSON path and the title an analyst sees. */
  label: string;
  text: string;
}

/** Sample values: typed so that a query using a parameter wrongly (a text value outside quotes) fails. */
const SAMPLE_TEXT = 'mcpwatch-sample';
const SAMPLE_TIME_RANGE: Readonly<Record<string, string>> = {
  '': '> ago(1d)',
  start: 'datetime(2026-01-01T00:00:00Z)',
  end: 'datetime(2026-01-02T00:00:00Z)',
  grain: '1h',
  label: 'Last 24 hours',
  value: '1d',
};

const REFERENCE = /\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}/g;

export function checkWorkbook(file: string, text: string, compiler: QueryCompiler): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const report = (query: string, code: string, message: string, line = 1, column = 1): void => {
    diagnostics.push({ severity: 'error', file, query, line, column, within: 'query', code, message });
  };

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    report('workbook', 'workbook-json', (error as Error).message);
    return diagnostics;
  }
  const workbook = Workbook.safeParse(json);
  if (!workbook.success) {
    for (const issue of workbook.error.issues)
      report('workbook', 'workbook-schema', `${issue.path.join('/')}: ${issue.message}`);
    return diagnostics;
  }

  const parameters = new Map<string, Parameter>();
  const queries: WorkbookQuery[] = [];
  // Links, exports and conditional visibility address items by name: a duplicate silently picks one.
  const itemNames = new Map<string, string>();
  const visit = (items: readonly WorkbookItem[], path: string): void => {
    items.forEach((item, index) => {
      const itemPath = `${path}/${index}`;
      if (item.name !== undefined) {
        const earlier = itemNames.get(item.name);
        if (earlier !== undefined)
          report(itemPath, 'workbook-item', `item name ${JSON.stringify(item.name)} is also used by ${earlier}`);
        else itemNames.set(item.name, itemPath);
      }
      const title = item.content?.title ?? item.name ?? '';
      if (item.type === ItemType.query && item.content?.query !== undefined) {
        if ((item.content.queryType ?? 0) === 0)
          queries.push({ label: `${itemPath} ${JSON.stringify(title)}`, text: item.content.query });
      } else if (item.type === ItemType.parameters) {
        (item.content?.parameters ?? []).forEach((raw, parameterIndex) => {
          const parameterPath = `${itemPath}/content/parameters/${parameterIndex}`;
          const parameter = Parameter.safeParse(raw);
          if (!parameter.success) {
            report(
              parameterPath,
              'workbook-parameter',
              parameter.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
            );
            return;
          }
          if (parameters.has(parameter.data.name))
            report(parameterPath, 'workbook-parameter', `parameter ${parameter.data.name} is declared twice`);
          parameters.set(parameter.data.name, parameter.data);
          if (parameter.data.query !== undefined && (parameter.data.queryType ?? 0) === 0) {
            queries.push({
              label: `${parameterPath} ${JSON.stringify(parameter.data.name)}`,
              text: parameter.data.query,
            });
          }
        });
      } else if (item.type === ItemType.group) {
        visit(item.content?.items ?? [], `${itemPath}/content/items`);
      }
    });
  };
  visit(workbook.data.items, 'items');

  for (const query of queries) {
    const substituted = substituteParameters(query.text, parameters);
    for (const problem of substituted.problems) {
      const { line, column } = lineAndColumn(query.text, problem.offset);
      report(query.label, 'workbook-parameter', problem.message, line, column);
    }
    // A wrong reference makes every later name in the query look wrong too: report the cause alone.
    if (substituted.problems.length > 0) continue;
    for (const diagnostic of compiler.compile(substituted.text).diagnostics) {
      const { line, column } = lineAndColumn(query.text, substituted.originalOffset(diagnostic.offset));
      diagnostics.push(placeQueryDiagnostic(diagnostic, { file, query: query.label, line, column, within: 'query' }));
    }
  }
  return diagnostics;
}

interface Substituted {
  text: string;
  problems: { offset: number; message: string }[];
  /** Where a position in the substituted text came from in the query as written. */
  originalOffset(offset: number): number;
}

export function substituteParameters(text: string, parameters: ReadonlyMap<string, Parameter>): Substituted {
  const problems: Substituted['problems'] = [];
  /** Replaced spans, in order: where each starts in both texts and how long it is in each. */
  const spans: { from: number; fromLength: number; to: number; toLength: number }[] = [];
  let shift = 0;
  const result = text.replace(
    REFERENCE,
    (reference: string, name: string, format: string | undefined, offset: number) => {
      const parameter = parameters.get(name);
      let value: string | undefined;
      if (parameter === undefined) {
        problems.push({ offset, message: `{${name}} is not a parameter of this workbook` });
        value = SAMPLE_TEXT;
      } else {
        value = sampleValue(parameter, format ?? '');
        if (value === undefined) {
          problems.push({
            offset,
            message: `{${name}:${format ?? ''}} is not a format of a type ${parameter.type} parameter`,
          });
          value = SAMPLE_TEXT;
        }
      }
      spans.push({ from: offset, fromLength: reference.length, to: offset + shift, toLength: value.length });
      shift += value.length - reference.length;
      return value;
    },
  );
  return {
    text: result,
    problems,
    originalOffset(offset) {
      let delta = 0;
      for (const span of spans) {
        if (offset < span.to) break;
        if (offset < span.to + span.toLength) return span.from;
        delta = span.to + span.toLength - (span.from + span.fromLength);
      }
      return offset - delta;
    },
  };
}

function sampleValue(parameter: Parameter, format: string): string | undefined {
  switch (parameter.type) {
    case ParameterType.timeRange:
      return SAMPLE_TIME_RANGE[format];
    case ParameterType.text:
    case ParameterType.dropdown: {
      if (format === 'escape') return SAMPLE_TEXT.replaceAll("'", "\\'");
      if (format === 'label' || format === 'value') return SAMPLE_TEXT;
      if (format !== '') return undefined;
      if (parameter.multiSelect === true) {
        const quote = parameter.quote ?? "'";
        return [SAMPLE_TEXT, `${SAMPLE_TEXT}-2`]
          .map((value) => `${quote}${value}${quote}`)
          .join(parameter.delimiter ?? ',');
      }
      return SAMPLE_TEXT;
    }
    default:
      return format === '' ? SAMPLE_TEXT : undefined;
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
