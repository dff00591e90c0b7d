import type { z } from 'zod';
import { Alert } from './alert.ts';
import { McpEvent } from './mcp-event.ts';
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
