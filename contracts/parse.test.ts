import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileSchema } from './compiled-schema.ts';
import { CallEvent, McpEvent } from './mcp-event.ts';
import { flattenDeepValues, McpEventParser, parseMcpEvent } from './parse.ts';

/** As replay flattens. */
const DEPTH = 64;

type Json = Record<string, unknown>;

/** Every event of the rules' fixtures and the benign corpus: real catalogs, calls and every other kind. */
function fixtureEvents(): Json[] {
  const root = fileURLToPath(new URL('../detectors/rules/fixtures/', import.meta.url));
  const events: Json[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = path.join(directory, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.jsonl')) {
        for (const line of readFileSync(file, 'utf8').split('\n'))
          if (line.trim() !== '') events.push(JSON.parse(line) as Json);
      }
    }
  };
  walk(root);
  return events;
}

/** Values put in place of a field: each wrong for most fields, right for some. */
const REPLACEMENTS: unknown[] = [
  undefined, // deleted
  null,
  0,
  -1,
  1.5,
  '',
  'x',
  'y'.repeat(600),
  'sha256:' + 'a'.repeat(64),
  true,
  [],
  ['x'],
  {},
  { type: 'object' },
];

/** Paths of the fields of `value` down to `depth` levels. */
function fieldPaths(value: unknown, depth: number, at: (string | number)[] = []): (string | number)[][] {
  if (depth === 0 || typeof value !== 'object' || value === null) return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, index) => index) : Object.keys(value);
  return keys.flatMap((key) => [
    [...at, key],
    ...fieldPaths((value as Record<string | number, unknown>)[key], depth - 1, [...at, key]),
  ]);
}

function mutated(event: Json, at: readonly (string | number)[], replacement: unknown): Json {
  const copy = structuredClone(event);
  let parent = copy as Record<string | number, unknown>;
  for (const key of at.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = at.at(-1)!;
  if (replacement === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = structuredClone(replacement);
  return copy;
}

/** The event with the keys of its first tool in reverse order (the output's order is the schema's, extras after). */
function reordered(event: Json): Json {
  const copy = structuredClone(event);
  const tools = copy['tools'] as Json[];
  tools[0] = Object.fromEntries(Object.entries(tools[0]!).reverse());
  return copy;
}

/** Mutations of one event: every field down to three levels, of a catalog's first and last tool down to their schemas. */
function mutationsOf(event: Json): Json[] {
  const out: Json[] = [];
  const tools = event['tools'];
  const paths = Array.isArray(tools)
    ? [...fieldPaths(event, 1), ...fieldPaths(event['server'], 1, ['server'])]
    : fieldPaths(event, 3);
  if (Array.isArray(tools) && tools.length > 0) {
    paths.push(...fieldPaths(tools[0], 3, ['tools', 0]), ...fieldPaths(tools.at(-1), 1, ['tools', tools.length - 1]));
    out.push(reordered(event), { ...event, tools: [...(tools as unknown[]), tools[0]] }, { ...event, tools: [] });
  }
  for (const at of paths) for (const replacement of REPLACEMENTS) out.push(mutated(event, at, replacement));
  out.push({ ...event, extra: { nested: [1, 2] } }, { ...event, kind: 'tool-catalog' }, { ...event, tools: {} });
  // An own `__proto__` key, as JSON.parse makes it: zod drops it from loose objects.
  const withProto = (text: string) => JSON.parse(text.replace(/^\{/, '{"__proto__":{"polluted":1},')) as Json;
  out.push(withProto(JSON.stringify(event)), { ...event, server: withProto(JSON.stringify(event['server'])) });
  return out;
}

/** The events to mutate: the catalogs of twelve servers (the smaller ones), and a few events of every other kind. */
function mutable(events: readonly Json[]): Json[] {
  const taken = new Map<string, number>();
  const servers = new Set<unknown>();
  return events.filter((event) => {
    const kind = String(event['kind']);
    if (kind === 'tool-catalog') {
      const server = (event['server'] as Json | undefined)?.['name'];
      if (servers.has(server) || servers.size >= 12 || JSON.stringify(event).length > 24_000) return false;
      servers.add(server);
      return true;
    }
    taken.set(kind, (taken.get(kind) ?? 0) + 1);
    return taken.get(kind)! <= 8;
  });
}

/** A parse result with its key order: `deepStrictEqual` alone does not compare it. */
const asText = (value: unknown) => JSON.stringify(value);

/** The prototypes of every object in a value, by path: `deepStrictEqual` let a changed prototype pass. */
function prototypesOf(value: unknown, at = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof value !== 'object' || value === null) return out;
  out.set(at, Object.getPrototypeOf(value));
  for (const [key, item] of Object.entries(value)) prototypesOf(item, `${at}.${key}`, out);
  return out;
}

/** An object nested `levels` deep, `leaf` at the bottom. */
function deep(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let level = 0; level < levels; level++) value = { properties: value };
  return value;
}

/** Events with values nested past the flattening depth, in definitions (new, repeated, equal once flattened) and elsewhere. */
function deepEvents(catalog: Json, call: Json): Json[] {
  const withSchema = (schema: unknown, eventId: string): Json => {
    const copy = structuredClone(catalog);
    (copy['tools'] as Json[])[0]!['inputSchema'] = schema;
    return { ...copy, eventId };
  };
  const withField = (field: string, value: unknown): Json => {
    const copy = structuredClone(catalog);
    (copy['tools'] as Json[])[0]![field] = value;
    return copy;
  };
  return [
    withSchema(deep(100, 'a'), 'deep-1'),
    withSchema(deep(100, 'a'), 'deep-2'),
    withSchema(deep(100, 'b'), 'deep-3'), // equal to the first two once flattened
    withSchema(deep(61, 'a'), 'kept'),
    withSchema(deep(62, 'a'), 'cut'),
    { ...catalog, extra: deep(100, 1) },
    { ...catalog, server: { ...(catalog['server'] as Json), extra: deep(100, 1) } },
    { ...call, extra: deep(100, 1) },
    withField('maxDepth', 0),
    withField('maxDepth', -0), // equal as JSON, not as a value
    withField('maxDepth', 0),
  ];
}

void test('McpEventParser gives what flattenDeepValues and parseMcpEvent give, for fixtures and their mutations, with definitions shared', () => {
  const parser = new McpEventParser(DEPTH);
  const events = fixtureEvents();
  assert.ok(events.filter((event) => event['kind'] === 'tool-catalog').length >= 40);
  assert.ok(compileSchema(CallEvent) !== undefined, 'tool calls are checked without zod');
  assert.ok(compileSchema(McpEvent) !== undefined);
  let compared = 0;
  let rejected = 0;
  const check = (input: Json): void => {
    const flattened = structuredClone(input);
    flattenDeepValues(flattened, DEPTH);
    const expected = parseMcpEvent(flattened);
    const actual = parser.parse(structuredClone(input));
    assert.deepStrictEqual(actual, expected);
    assert.equal(asText(actual), asText(expected));
    assert.deepEqual([...prototypesOf(actual)], [...prototypesOf(expected)]);
    compared += 1;
    if (!expected.ok) rejected += 1;
  };
  // Valid events first, so that the mutations of a definition meet the definition remembered.
  for (const event of events) check(event);
  for (const event of mutable(events)) for (const mutation of mutationsOf(event)) check(mutation);
  for (const event of events) check(structuredClone(event));
  const catalog = events.find((event) => event['kind'] === 'tool-catalog' && (event['tools'] as unknown[]).length > 1)!;
  const tools = catalog['tools'] as unknown[];
  check({ ...catalog, tools: Array.from({ length: 4097 }, (_, index) => tools[index % tools.length]) });
  for (const event of deepEvents(
    catalog,
    events.find((event) => event['kind'] === 'call')!,
  ))
    check(event);
  assert.ok(compared > 20_000, `${compared} compared`);
  assert.ok(rejected > compared / 4 && rejected < compared, `${rejected} of ${compared} rejected`);

  const first = parser.parse(structuredClone(catalog));
  const again = parser.parse({ ...structuredClone(catalog), eventId: 'another' });
  assert.ok(first.ok && again.ok && first.value.kind === 'tool-catalog' && again.value.kind === 'tool-catalog');
  assert.equal(again.value.tools[1], first.value.tools[1], 'an equal definition is the one parsed before');
});
