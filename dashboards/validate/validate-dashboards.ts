/**
 * `mcpwatch validate`: every query mcpwatch ships to analysts, compiled offline with Microsoft's Kusto language
 * service against the workspace schema generated from the contracts, and every analytics rule checked against
 * the constraints Sentinel enforces at deployment. No workspace, no network.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TABLES } from '../../contracts/log-analytics.ts';
import { dataFlows, streamDeclarations } from '../data-collection-rule.ts';
import { checkAsimParser } from './asim-parser.ts';
import { placeQueryDiagnostic, type Diagnostic } from './diagnostic.ts';
import { checkHuntingQuery } from './hunting-query.ts';
import { QueryCompiler, type KustoColumn, type KustoFunction } from './kusto-service.ts';
import { checkAnalyticsRule, type AnalyticsRule, type CheckedRule } from './sentinel-rule.ts';
import { checkWorkbook } from './workbook.ts';
import { transformDatabase, workspaceDatabase } from './workspace-schema.ts';

/** A data collection rule data flow's transformation and the stream it reads. */
export interface TransformQuery {
  /** Where it is defined, reported as the diagnostic's file. */
  file: string;
  streamName: string;
  columns: readonly KustoColumn[];
  transformKql: string;
}

export interface ValidateOptions {
  /** The transformations to compile; by default the data flows `deploy/azure/data-collection-rule.ts` builds. */
  transforms?: readonly TransformQuery[];
}

/** Where each kind of content lives under the dashboards root. */
export const CONTENT_DIRECTORIES = {
  rules: 'sentinel/rules',
  hunting: 'hunting',
  workbooks: 'workbooks',
  parsers: 'parsers',
} as const;

let workspaceCompiler: QueryCompiler | undefined;

function sharedWorkspaceCompiler(): QueryCompiler {
  workspaceCompiler ??= new QueryCompiler(workspaceDatabase());
  return workspaceCompiler;
}

export function shippedTransforms(): TransformQuery[] {
  const streams = streamDeclarations(TABLES);
  return dataFlows(TABLES).flatMap((flow) =>
    flow.streams.map((streamName) => ({
      file: 'deploy/azure/data-collection-rule.ts',
      streamName,
      columns: streams[streamName]?.columns ?? [],
      transformKql: flow.transformKql,
    })),
  );
}

/**
 * Checks everything under `rootDir` (the `dashboards` folder): ASIM parsers (which the rest may then call),
 * analytics rules, hunting queries, workbooks, and the data collection rule transformations. Diagnostics name
 * files as `rootDir`-joined paths.
 */
export async function validateDashboards(rootDir: string, options: ValidateOptions = {}): Promise<Diagnostic[]> {
  let compiler = sharedWorkspaceCompiler();
  const diagnostics: Diagnostic[] = [];
  const display = (absolute: string): string =>
    path.join(rootDir, path.relative(rootDir, absolute)).split(path.sep).join('/');

  const ruleFiles = await filesIn(path.join(rootDir, CONTENT_DIRECTORIES.rules), ['.yaml', '.yml']);
  const huntingFiles = await filesIn(path.join(rootDir, CONTENT_DIRECTORIES.hunting), ['.kql']);
  const workbookFiles = await filesIn(path.join(rootDir, CONTENT_DIRECTORIES.workbooks), ['.json']);
  // Filtering (vim) parsers first: the ASim parsers call them.
  const parserFiles = (await filesIn(path.join(rootDir, CONTENT_DIRECTORIES.parsers), ['.yaml'])).sort(
    (a, b) => Number(!path.basename(a).startsWith('vim')) - Number(!path.basename(b).startsWith('vim')),
  );
  if (ruleFiles.length + huntingFiles.length + workbookFiles.length + parserFiles.length === 0) {
    diagnostics.push({
      severity: 'error',
      file: rootDir,
      query: 'dashboards',
      line: 1,
      column: 1,
      within: 'file',
      code: 'no-content',
      message: `no rules (${CONTENT_DIRECTORIES.rules}/*.yaml), hunting queries, workbooks or parsers found: is this the dashboards folder?`,
    });
  }

  const parsers: KustoFunction[] = [];
  for (const absolute of parserFiles) {
    const checked = checkAsimParser(display(absolute), await readFile(absolute, 'utf8'), compiler);
    diagnostics.push(...checked.diagnostics);
    if (checked.function !== undefined) {
      parsers.push(checked.function);
      compiler = compilerWithParsers(parsers);
    }
  }

  const rules: { file: string; rule: AnalyticsRule; positions: CheckedRule['positions'] }[] = [];
  for (const absolute of ruleFiles) {
    const file = display(absolute);
    const checked = checkAnalyticsRule(file, await readFile(absolute, 'utf8'), compiler);
    diagnostics.push(...checked.diagnostics);
    if (checked.rule !== undefined) rules.push({ file, rule: checked.rule, positions: checked.positions });
  }
  diagnostics.push(...uniqueRuleIdentity(rules));

  for (const absolute of huntingFiles) {
    diagnostics.push(...checkHuntingQuery(display(absolute), await readFile(absolute, 'utf8'), compiler));
  }
  for (const absolute of workbookFiles) {
    diagnostics.push(...checkWorkbook(display(absolute), await readFile(absolute, 'utf8'), compiler));
  }
  for (const transform of options.transforms ?? shippedTransforms()) {
    diagnostics.push(...checkTransform(transform));
  }
  return diagnostics;
}

/** The workspace with the given parsers as functions, as Sentinel has them once the templates deploy them. */
function compilerWithParsers(parsers: readonly KustoFunction[]): QueryCompiler {
  const database = workspaceDatabase();
  return new QueryCompiler({ ...database, functions: [...database.functions, ...parsers] });
}

function checkTransform(transform: TransformQuery): Diagnostic[] {
  const query = `transformKql of ${transform.streamName}`;
  if (transform.columns.length === 0) {
    return [
      {
        severity: 'error',
        file: transform.file,
        query,
        line: 1,
        column: 1,
        within: 'query',
        code: 'transform-stream',
        message: `stream ${transform.streamName} declares no columns`,
      },
    ];
  }
  const compiled = new QueryCompiler(transformDatabase(transform.columns)).compile(transform.transformKql);
  return compiled.diagnostics.map((diagnostic) =>
    placeQueryDiagnostic(diagnostic, {
      file: transform.file,
      query,
      line: diagnostic.line,
      column: diagnostic.column,
      within: 'query',
    }),
  );
}

function uniqueRuleIdentity(
  rules: readonly { file: string; rule: AnalyticsRule; positions: CheckedRule['positions'] }[],
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const key of ['id', 'name'] as const) {
    const first = new Map<string, string>();
    for (const { file, rule, positions } of rules) {
      const value = key === 'id' ? rule.id.toLowerCase() : rule.name;
      const earlier = first.get(value);
      if (earlier === undefined) first.set(value, file);
      else {
        diagnostics.push({
          severity: 'error',
          file,
          query: rule.name,
          ...positions[key],
          within: 'file',
          code: 'rule-unique',
          message: `${key} ${value} is also used by ${earlier}`,
        });
      }
    }
  }
  return diagnostics;
}

async function filesIn(directory: string, extensions: readonly string[]): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => extensions.includes(path.extname(entry)))
    .sort()
    .map((entry) => path.join(directory, entry));
}
