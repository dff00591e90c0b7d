import { z } from 'zod';
import { Alert } from './alert.ts';
import { compileSchema, REJECTED } from './compiled-schema.ts';
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

/** What `McpEventParser` checks without zod; what they reject, zod parses again for its issues. */
const compiledEvent = compileSchema(McpEvent);
const compiledShell = compileSchema(CatalogShell);

/**
 * Nesting the detectors keep per event they read (replay, Kafka); deeper values become the flattened-value
 * marker, as the collector does while decoding (its limit is at most this).
 */
export const MAX_EVENT_VALUE_DEPTH = 64;

/** Definitions `McpEventParser` remembers per generation, and variants per tool name. */
const REMEMBERED_DEFINITIONS = 8192;
const VARIANTS_PER_NAME = 4;

/**
 * A definition's JSON as it was read, in the order `equalsTokens` walks it: an object is `OBJECT`, its key
 * count, then each key and its value; an array `ARRAY`, its length and its items; anything else itself.
 */
type Tokens = unknown[];
const OBJECT = Symbol('object');
const ARRAY = Symbol('array');

interface KnownDefinition {
  tokens: Tokens;
  tool: ToolDefinition;
}

/**
 * `flattenDeepValues` and `parseMcpEvent` for a stream of events that repeat tool definitions (every session
 * lists its server's catalog): a definition whose JSON equals one parsed before (same keys in the same order,
 * same values) is that parsed definition, not flattened or validated again and held once. The results, and the
 * issues of an invalid event, are those of `flattenDeepValues(input, maxDepth)` then `parseMcpEvent(input)`.
 */
export class McpEventParser {
  private recent = new Map<string, KnownDefinition[]>();
  private older = new Map<string, KnownDefinition[]>();

  /** `maxDepth` as for `flattenDeepValues`; at least 3 (a definition sits at depth 3 of its event). */
  constructor(private readonly maxDepth: number) {
    if (!(maxDepth >= 3)) throw new RangeError(`maxDepth must be at least 3, not ${maxDepth}`);
  }

  parse(input: unknown): ParseResult<McpEvent> {
    if (!isCatalog(input)) {
      flattenDeepValues(input, this.maxDepth);
      const value = compiledEvent?.(input) ?? REJECTED;
      return value === REJECTED ? parseMcpEvent(input) : { ok: true, value: value as McpEvent };
    }
    // What flattenDeepValues does to the whole event, with the definitions left to `toolsOf`.
    for (const key of Object.keys(input)) {
      const value = (input as Record<string, unknown>)[key];
      if (key !== 'tools' && typeof value === 'object' && value !== null) flattenDeepValues(value, this.maxDepth - 1);
    }
    const tools = this.toolsOf(input.tools);
    const shell = tools === undefined ? REJECTED : (compiledShell?.(input) ?? shellOf(input));
    if (tools === undefined || shell === REJECTED) {
      flattenDeepValues(input, this.maxDepth);
      return parseMcpEvent(input);
    }
    return { ok: true, value: { ...(shell as z.infer<typeof CatalogShell>), tools } };
  }

  /** The parsed definitions, or undefined when one is invalid (then `parseMcpEvent` tells why). */
  private toolsOf(inputs: readonly unknown[]): ToolDefinition[] | undefined {
    const tools: ToolDefinition[] = [];
    for (const input of inputs) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
      const name = (input as { name?: unknown }).name;
      if (typeof name !== 'string') return undefined;
      let known = this.find(name, input);
      if (known === undefined) {
        // A definition equal to a known one once flattened is that one; else it is new.
        if (flattenDeepValues(input, this.maxDepth - 2) > 0) known = this.find(name, input);
        if (known === undefined) {
          const parsed = ToolDefinition.safeParse(input);
          if (!parsed.success) return undefined;
          known = { tokens: tokensOf(input, []), tool: parsed.data };
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

  private find(name: string, input: object): KnownDefinition | undefined {
    const same = (known: KnownDefinition) => equalsTokens(input, known.tokens, 0) === known.tokens.length;
    return this.recent.get(name)?.find(same) ?? this.older.get(name)?.find(same);
  }
}

function shellOf(input: unknown): z.infer<typeof CatalogShell> | typeof REJECTED {
  const shell = CatalogShell.safeParse(input);
  return shell.success ? shell.data : REJECTED;
}

function tokensOf(value: unknown, tokens: Tokens): Tokens {
  if (Array.isArray(value)) {
    tokens.push(ARRAY, value.length);
    for (const item of value) tokensOf(item, tokens);
  } else if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    tokens.push(OBJECT, keys.length);
    for (const key of keys) {
      tokens.push(key);
      tokensOf((value as Record<string, unknown>)[key], tokens);
    }
  } else tokens.push(value);
  return tokens;
}

/**
 * Where the tokens of `value` end in `tokens` from `at` when they are equal there (keys in the same order,
 * primitives `Object.is`), else -1. Recurses no deeper than the tokens nest.
 */
function equalsTokens(value: unknown, tokens: Tokens, at: number): number {
  const token = tokens[at];
  if (token === OBJECT) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return -1;
    const keys = Object.keys(value);
    if (keys.length !== tokens[at + 1]) return -1;
    let next = at + 2;
    for (const key of keys) {
      if (tokens[next] !== key) return -1;
      next = equalsTokens((value as Record<string, unknown>)[key], tokens, next + 1);
      if (next === -1) return -1;
    }
    return next;
  }
  if (token === ARRAY) {
    if (!Array.isArray(value) || value.length !== tokens[at + 1]) return -1;
    let next = at + 2;
    for (const item of value) {
      next = equalsTokens(item, tokens, next);
      if (next === -1) return -1;
    }
    return next;
  }
  return Object.is(value, token) ? at + 1 : -1;
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
  if (typeof root !== 'object' || root === null) return 0;
  let flattened = 0;
  // Containers still to walk and their depths, as two stacks (no object per container). Arrays and objects have
  // a loop each: one loop choosing its key per step measured about 20 % slower.
  const containers: (Record<string, unknown> | unknown[])[] = [root as Record<string, unknown>];
  const depths: number[] = [1];
  for (let container = containers.pop(); container !== undefined; container = containers.pop()) {
    const depth = depths.pop()!;
    if (Array.isArray(container)) {
      for (let index = 0; index < container.length; index += 1) {
        const value: unknown = container[index];
        if (typeof value !== 'object' || value === null) continue;
        if (depth >= maxDepth) {
          container[index] = FLATTENED_VALUE_MARKER;
          flattened++;
        } else {
          containers.push(value as Record<string, unknown>);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    for (const key of Object.keys(container)) {
      const value = container[key];
      if (typeof value !== 'object' || value === null) continue;
      if (depth >= maxDepth) {
        container[key] = FLATTENED_VALUE_MARKER;
        flattened++;
      } else {
        containers.push(value as Record<string, unknown>);
        depths.push(depth + 1);
      }
    }
  }
  return flattened;
}
