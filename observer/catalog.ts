import type { ToolDefinition } from '../contracts/mcp-event.ts';
import { canonicalJson, contentHash, hashOfCanonical } from '../contracts/content-hash.ts';

/** Export bounds of one tool definition; `hash` always covers the definition as served, whole. */
const MAX_DESCRIPTION_CHARS = 16_384;
const MAX_SCHEMA_CHARS = 32_768;
const MAX_TOOLS = 4096;
const MAX_INSTRUCTIONS_CHARS = 65_536;
const KNOWN_FIELDS = new Set([
  'name',
  'title',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
  'hash',
  'truncated',
  'definitionDepth',
  'definitionBytes',
  'cut',
  'cutCount',
]);

/** Nesting kept below each schema-like field; deeper parts are flattened into text. */
const MAX_FIELD_DEPTH = 10;
/** Values (nodes) kept per field; beyond it, parts are cut (marked). */
const MAX_FIELD_NODES = 2048;
/** Values visited to flatten one part. */
const MAX_FLATTENED_VISITS = 8192;
/** Text of one flattened part, in characters. */
const MAX_FLATTENED_CHARS = 4096;
/** Cuts listed per definition (the rest are counted in `truncated`'s company, `cutCount`). */
const MAX_CUTS_LISTED = 16;
export const CUT = '[…]';

const textOf = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' ? value.slice(0, max) : undefined;

/** One part of a definition that was not exported as served. */
export type DefinitionCut = {
  /** Path in the definition, e.g. `inputSchema.properties.a.properties`. */
  path: string;
  /** `depth`: nested deeper than the export bound, flattened into text; `size`: beyond the size bound, dropped. */
  reason: 'depth' | 'size';
};

/**
 * The strings of a part too deep to export, keys and values, one per line with their real characters: what a
 * model would read there stays visible to the text rules. Iterative and bounded by `MAX_FLATTENED_CHARS`.
 */
function flatten(value: unknown): string {
  // Distinct lines: the repeated structure (`type`, `object`, `properties`) once, the words in it all.
  const lines = new Set<string>();
  let chars = 0;
  const stack: unknown[] = [value];
  let visits = 0;
  while (stack.length > 0 && chars < MAX_FLATTENED_CHARS && visits++ < MAX_FLATTENED_VISITS) {
    const node = stack.pop();
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
      const line = String(node);
      if (lines.has(line)) continue;
      lines.add(line);
      chars += line.length + 1;
    } else if (Array.isArray(node)) {
      for (let index = node.length - 1; index >= 0; index--) stack.push(node[index]);
    } else if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node as Record<string, unknown>);
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, item] = entries[index]!;
        stack.push(item, key);
      }
    }
  }
  const text = [...lines].join('\n');
  return `${CUT} ${text.length > MAX_FLATTENED_CHARS ? text.slice(0, MAX_FLATTENED_CHARS) : text}`;
}

/**
 * A copy of one field of a definition within the export bounds: parts nested deeper than `MAX_FIELD_DEPTH`
 * become flattened text, parts beyond `MAX_FIELD_NODES` are dropped; each cut is recorded. Iterative.
 */
function boundedField(value: unknown, root: string, cuts: DefinitionCut[]): unknown {
  const holder: { value?: unknown } = {};
  type Frame = { node: unknown; path: string; depth: number; set: (copy: unknown) => void };
  const stack: Frame[] = [{ node: value, path: root, depth: 0, set: (copy) => (holder.value = copy) }];
  let nodes = 0;
  while (stack.length > 0) {
    const { node, path, depth, set } = stack.pop()!;
    if (++nodes > MAX_FIELD_NODES) {
      set(CUT);
      cuts.push({ path, reason: 'size' });
    } else if (typeof node !== 'object' || node === null) {
      set(typeof node === 'string' && node.length > MAX_FLATTENED_CHARS ? node.slice(0, MAX_FLATTENED_CHARS) : node);
    } else if (depth >= MAX_FIELD_DEPTH) {
      set(flatten(node));
      cuts.push({ path, reason: 'depth' });
    } else if (Array.isArray(node)) {
      const copy: unknown[] = [];
      set(copy);
      for (let index = node.length - 1; index >= 0; index--)
        stack.push({
          node: node[index],
          path: `${path}[${index}]`,
          depth: depth + 1,
          set: (item) => (copy[index] = item),
        });
    } else {
      const copy: Record<string, unknown> = {};
      set(copy);
      const keys = Object.keys(node);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index]!;
        const item = (node as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function') continue;
        stack.push({
          node: item,
          path: `${path}.${key.slice(0, 64)}`,
          depth: depth + 1,
          set: (kept) => (copy[key] = kept),
        });
      }
    }
  }
  return holder.value;
}

/**
 * A tool definition as exported: `hash` over the whole definition as served (RFC 8785), `definitionDepth`
 * and `definitionBytes` of the whole, and its fields within the export bounds, cut parts listed in `cut`.
 */
export function toolDefinition(tool: Record<string, unknown>): ToolDefinition {
  const stats = { depth: 0 };
  const canonical = canonicalJson(tool, stats);
  const definition: ToolDefinition = {
    name: (typeof tool['name'] === 'string' && tool['name'] !== '' ? tool['name'] : '(unnamed)').slice(0, 512),
    hash: hashOfCanonical(canonical),
    definitionDepth: stats.depth,
    definitionBytes: Buffer.byteLength(canonical, 'utf8'),
  };
  let truncated = false;
  const cuts: DefinitionCut[] = [];
  const title = textOf(tool['title'], 1024);
  if (title !== undefined) definition.title = title;
  if (typeof tool['description'] === 'string') {
    definition.description = tool['description'].slice(0, MAX_DESCRIPTION_CHARS);
    truncated ||= tool['description'].length > MAX_DESCRIPTION_CHARS;
  }
  for (const key of ['inputSchema', 'outputSchema'] as const) {
    if (tool[key] !== undefined) definition[key] = boundedField(tool[key], key, cuts);
  }
  const annotations = tool['annotations'];
  if (typeof annotations === 'object' && annotations !== null && !Array.isArray(annotations)) {
    definition.annotations = boundedField(annotations, 'annotations', cuts) as Record<string, unknown>;
  }
  // Fields newer than this code (`icons`, `execution`, `_meta`, ...) are kept: drift in them matters too.
  for (const [key, value] of Object.entries(tool)) {
    if (KNOWN_FIELDS.has(key) || value === undefined) continue;
    definition[key] = boundedField(value, key, cuts);
  }
  // The size bound: a field still too large after bounding is dropped whole.
  for (const [key, value] of Object.entries(definition)) {
    if (typeof value !== 'object' || value === null) continue;
    if ((JSON.stringify(value)?.length ?? 0) > MAX_SCHEMA_CHARS) {
      delete definition[key];
      cuts.push({ path: key, reason: 'size' });
    }
  }
  if (cuts.length > 0) {
    truncated = true;
    definition.cut = cuts.slice(0, MAX_CUTS_LISTED);
    if (cuts.length > MAX_CUTS_LISTED) definition.cutCount = cuts.length;
  }
  if (truncated) definition.truncated = true;
  return definition;
}

export interface ToolCatalogSnapshot {
  tools: ToolDefinition[];
  listHash: string;
  /** Tools served beyond the export bound (they still count in `listHash`). */
  omittedTools: number;
  instructions?: string;
  instructionsHash?: string;
}

export function toolCatalogSnapshot(served: readonly unknown[], instructions: unknown): ToolCatalogSnapshot {
  const definitions = served
    .filter((tool): tool is Record<string, unknown> => typeof tool === 'object' && tool !== null)
    .map((tool) => toolDefinition(tool));
  const byName = [...definitions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const snapshot: ToolCatalogSnapshot = {
    tools: definitions.slice(0, MAX_TOOLS),
    listHash: contentHash(byName.map((tool) => tool.hash)),
    omittedTools: Math.max(0, definitions.length - MAX_TOOLS),
  };
  if (typeof instructions === 'string' && instructions !== '') {
    snapshot.instructions = instructions.slice(0, MAX_INSTRUCTIONS_CHARS);
    snapshot.instructionsHash = contentHash(instructions);
  }
  return snapshot;
}
