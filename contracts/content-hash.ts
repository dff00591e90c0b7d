import { createHash } from 'node:crypto';

/** What `canonicalJson` measured on the way: the deepest nesting of arrays and objects (a scalar is 0). */
export interface CanonicalStats {
  depth: number;
}

type Step = { value: unknown; depth: number } | { text: string } | { leave: object };

/**
 * RFC 8785 canonical JSON (keys sorted by UTF-16 code units, ECMAScript number and string serialization), as
 * the `canonicalize` package writes it for JSON data, but iterative: a definition nested 20,000 deep is
 * serialized, not a stack overflow, so a server cannot hide a tool by nesting it. A lone surrogate is escaped
 * (`\udXXX`, as `JSON.stringify` does) instead of failing. Cycles are refused.
 */
export function canonicalJson(value: unknown, stats?: CanonicalStats): string {
  const out: string[] = [];
  const open = new Set<object>();
  const stack: Step[] = [{ value, depth: 0 }];
  let deepest = 0;
  while (stack.length > 0) {
    const step = stack.pop()!;
    if ('text' in step) {
      out.push(step.text);
      continue;
    }
    if ('leave' in step) {
      open.delete(step.leave);
      continue;
    }
    let node = step.value;
    if (typeof node === 'object' && node !== null && typeof (node as { toJSON?: unknown }).toJSON === 'function') {
      node = (node as { toJSON: () => unknown }).toJSON();
    }
    if (typeof node === 'number' && !Number.isFinite(node)) throw new Error(`${node} is not allowed in JSON`);
    if (node === null || typeof node !== 'object') {
      out.push(JSON.stringify(node) ?? 'null');
      continue;
    }
    if (open.has(node)) throw new Error('Circular reference detected');
    open.add(node);
    const depth = step.depth + 1;
    if (depth > deepest) deepest = depth;
    stack.push({ leave: node });
    if (Array.isArray(node)) {
      out.push('[');
      stack.push({ text: ']' });
      for (let index = node.length - 1; index >= 0; index--) {
        const item: unknown = node[index];
        stack.push({ value: item === undefined || typeof item === 'symbol' ? null : item, depth });
        if (index > 0) stack.push({ text: ',' });
      }
      continue;
    }
    out.push('{');
    stack.push({ text: '}' });
    const record = node as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => {
        const item = record[key];
        return item !== undefined && typeof item !== 'symbol' && typeof item !== 'function';
      })
      .sort();
    for (let index = keys.length - 1; index >= 0; index--) {
      const key = keys[index]!;
      stack.push({ value: record[key], depth });
      stack.push({ text: `${index > 0 ? ',' : ''}${JSON.stringify(key)}:` });
    }
  }
  if (stats !== undefined) stats.depth = deepest;
  return out.join('');
}

/**
 * `sha256:<hex>` over the RFC 8785 canonical JSON of a value: a tool definition hashes the same wherever it
 * is served, observed or re-checked. `undefined` hashes as `null`.
 */
export function contentHash(value: unknown): string {
  return hashOfCanonical(canonicalJson(value ?? null));
}

/** `sha256:<hex>` of canonical JSON text already built (see `canonicalJson`). */
export function hashOfCanonical(canonical: string): string {
  return `sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}
