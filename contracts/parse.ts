import { z } from 'zod';
import { Alert } from './alert.ts';
import { McpEvent, ToolCatalogEvent, ToolDefinition } from './mcp-event.ts';
import { FLATTENED_VALUE_MARKER } from './signals.ts';

/** One problem in an input: where (a JSON path such as `tools[3].hash`) and what was expected there. */
export interface InputIssue {
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: InputIssue[] };

/** At most this many issues are reported per input: enough to fix it, bounded for hostile input. */
const MAX_ISSUES = 10;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function issuesOf(error: z.ZodError): InputIssue[] {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/** `path: message; path: message` — for logs, dead letters and CLI errors. */
export function describeIssues(issues: readonly InputIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown): ParseResult<z.infer<S>> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: issuesOf(result.error) };
}

export function parseMcpEvent(input: unknown): ParseResult<McpEvent> {
  return parseWith(McpEvent, input);
}

/** A tool catalog whose tools are checked one by one (`McpEventParser`); the rest as `ToolCatalogEvent`. */
const CatalogShell = ToolCatalogEvent.extend({ tools: z.array(z.unknown()).max(4096) });

/** Definitions `McpEventParser` remembers per generation, and variants per tool name. */
const REMEMBERED_DEFINITIONS = 8192;
const VARIANTS_PER_NAME = 4;
/** Nesting compared before two definitions count as different (replay flattens at 64). */
const MAX_COMPARED_DEPTH = 64;

interface KnownDefinition {
  input: Record<string, unknown>;
  tool: ToolDefinition;
}

/**
 * `parseMcpEvent` for a stream of events that repeat tool definitions (every session lists its server's
 * catalog): a definition equal to one parsed before (same keys in the same order, same values) is that parsed
 * definition, not validated again and held once. The results, and the issues of an invalid event, are those
 * of `parseMcpEvent`.
 */
export class McpEventParser {
  private recent = new Map<string, KnownDefinition[]>();
  private older = new Map<string, KnownDefinition[]>();

  parse(input: unknown): ParseResult<McpEvent> {
    const tools = isCatalog(input) ? this.toolsOf(input.tools) : undefined;
    if (tools === undefined) return parseMcpEvent(input);
    const shell = CatalogShell.safeParse(input);
    if (!shell.success) return parseMcpEvent(input);
    return { ok: true, value: { ...shell.data, tools } };
  }

  /** The parsed definitions, or undefined when one is invalid (then `parseMcpEvent` tells why). */
  private toolsOf(inputs: readonly unknown[]): ToolDefinition[] | undefined {
    const tools: ToolDefinition[] = [];
    for (const input of inputs) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
      const name = (input as { name?: unknown }).name;
      if (typeof name !== 'string') return undefined;
      const same = (known: KnownDefinition) => sameJson(known.input, input, 0);
      let known = this.recent.get(name)?.find(same);
      if (known === undefined) {
        known = this.older.get(name)?.find(same);
        if (known === undefined) {
          const parsed = ToolDefinition.safeParse(input);
          if (!parsed.success) return undefined;
          known = { input: input as Record<string, unknown>, tool: parsed.data };
        }
        const variants = this.recent.get(name) ?? [];
        if (variants.length === 0 && this.recent.size >= REMEMBERED_DEFINITIONS) {
          this.older = this.recent;
          this.recent = new Map();
        }
        this.recent.set(name, [known, ...variants.slice(0, VARIANTS_PER_NAME - 1)]);
      }
      tools.push(known.tool);
    }
    return tools;
  }
}

/** Whether two parsed JSON values are equal, keys in the same order; deeper than `MAX_COMPARED_DEPTH` counts as not. */
function sameJson(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > MAX_COMPARED_DEPTH) {
    return false;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index += 1) {
      if (!sameJson(a[index], b[index], depth + 1)) return false;
    }
    return true;
  }
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    if (key !== otherKeys[index]) return false;
    if (!sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

function isCatalog(input: unknown): input is { kind: 'tool-catalog'; tools: unknown[] } {
  return (
    typeof input === 'object' &&
    input !== null &&
    (input as { kind?: unknown }).kind === 'tool-catalog' &&
    Array.isArray((input as { tools?: unknown }).tools)
  );
}

export function parseAlert(input: unknown): ParseResult<Alert> {
  return parseWith(Alert, input);
}

/**
 * Replaces every object or array nested deeper than `maxDepth` in parsed JSON with `FLATTENED_VALUE_MARKER`,
 * in place, without recursion (a 20,000-deep line must not overflow a stack here or in a rule later). Returns
 * how many values were flattened. The same bound the collector applies while decoding OTLP.
 */
export function flattenDeepValues(root: unknown, maxDepth: number): number {
  let flattened = 0;
  const stack: { container: Record<string, unknown> | unknown[]; depth: number }[] = [];
  if (typeof root === 'object' && root !== null) stack.push({ container: root as Record<string, unknown>, depth: 1 });
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { container, depth } = next;
    const keys = Array.isArray(container) ? container.keys() : Object.keys(container).values();
    for (const key of keys) {
      const value = (container as Record<string | number, unknown>)[key];
      if (typeof value !== 'object' || value === null) continue;
      if (depth >= maxDepth) {
        (container as Record<string | number, unknown>)[key] = FLATTENED_VALUE_MARKER;
        flattened++;
      } else stack.push({ container: value as Record<string, unknown>, depth: depth + 1 });
    }
  }
  return flattened;
}
