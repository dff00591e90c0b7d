import type { ToolDefinition } from '../contracts/mcp-event.ts';
import { contentHash } from '../contracts/content-hash.ts';

/** Export bounds of one tool definition; `hash` always covers the definition as served, whole. */
const MAX_DESCRIPTION_CHARS = 16_384;
const MAX_SCHEMA_CHARS = 32_768;
const MAX_TOOLS = 4096;
const MAX_INSTRUCTIONS_CHARS = 65_536;
const MAX_EXTRA_FIELD_CHARS = 4096;
const KNOWN_FIELDS = new Set([
  'name',
  'title',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
  'hash',
  'truncated',
]);

const textOf = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' ? value.slice(0, max) : undefined;

function boundedSchema(value: unknown): { schema?: unknown; cut: boolean } {
  if (value === undefined) return { cut: false };
  const json = JSON.stringify(value);
  return json === undefined || json.length > MAX_SCHEMA_CHARS ? { cut: true } : { schema: value, cut: false };
}

export function toolDefinition(tool: Record<string, unknown>): ToolDefinition {
  const definition: ToolDefinition = {
    name: (typeof tool['name'] === 'string' && tool['name'] !== '' ? tool['name'] : '(unnamed)').slice(0, 512),
    hash: contentHash(tool),
  };
  let truncated = false;
  const title = textOf(tool['title'], 1024);
  if (title !== undefined) definition.title = title;
  if (typeof tool['description'] === 'string') {
    definition.description = tool['description'].slice(0, MAX_DESCRIPTION_CHARS);
    truncated ||= tool['description'].length > MAX_DESCRIPTION_CHARS;
  }
  for (const key of ['inputSchema', 'outputSchema'] as const) {
    const { schema, cut } = boundedSchema(tool[key]);
    if (schema !== undefined) definition[key] = schema;
    truncated ||= cut;
  }
  const annotations = tool['annotations'];
  if (typeof annotations === 'object' && annotations !== null && !Array.isArray(annotations)) {
    const { schema, cut } = boundedSchema(annotations);
    if (schema !== undefined) definition.annotations = schema as Record<string, unknown>;
    truncated ||= cut;
  }
  // Fields newer than this code (`icons`, `execution`, `_meta`, ...) are kept: drift in them matters too.
  for (const [key, value] of Object.entries(tool)) {
    if (KNOWN_FIELDS.has(key) || value === undefined) continue;
    const json = JSON.stringify(value);
    if (json !== undefined && json.length <= MAX_EXTRA_FIELD_CHARS) definition[key] = value;
    else truncated = true;
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
