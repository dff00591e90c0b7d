/**
 * Bounded access to attacker-controlled text. Every pattern in the rules runs over text cut by these helpers,
 * so the work per event is bounded whatever a server or client sends.
 */
import type { ToolDefinition } from '../../../contracts/mcp-event.ts';

/** Characters of one field a pattern ever sees. */
export const MAX_FIELD_CHARS = 16_384;
/** Strings collected from one schema or JSON value. */
const MAX_STRINGS = 512;
const MAX_DEPTH = 12;

/** A piece of text and where it came from, e.g. `tools[read_file].inputSchema.properties.path.description`. */
export interface LocatedText {
  location: string;
  text: string;
}

export function bounded(text: string, max = MAX_FIELD_CHARS): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** A short excerpt around `index` for evidence; control characters are shown as `\uXXXX`. */
export function excerpt(text: string, index: number, length: number, radius = 40): string {
  const start = Math.max(0, index - radius);
  const end = Math.min(text.length, index + length + radius);
  const cut = text.slice(start, end).replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return (start > 0 ? '…' : '') + cut + (end < text.length ? '…' : '');
}

/**
 * Every string inside a JSON value with its path: object keys (as `<path>.<key>#key`) and string values,
 * breadth-bounded and depth-bounded. Tool schemas carry instructions in descriptions, defaults, enums,
 * examples and property names alike.
 */
export function stringsIn(value: unknown, root: string): LocatedText[] {
  const out: LocatedText[] = [];
  const walk = (node: unknown, path: string, depth: number): void => {
    if (out.length >= MAX_STRINGS || depth > MAX_DEPTH) return;
    if (typeof node === 'string') {
      out.push({ location: path, text: bounded(node) });
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, `${path}[${index}]`, depth + 1));
    } else if (node !== null && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) {
        if (out.length >= MAX_STRINGS) return;
        out.push({ location: `${path}.${key}#key`, text: bounded(key, 512) });
        walk(item, `${path}.${key}`, depth + 1);
      }
    }
  };
  walk(value, root, 0);
  return out;
}

/** Texts of the tool objects of the events in flight: the content rules of one catalog event share them. */
const TEXTS_OF_TOOL = new WeakMap<ToolDefinition, readonly LocatedText[]>();

/** A definition seen before (the fields `textsOf` reads, but the name) and the texts it gave. */
interface KnownDefinition {
  fields: readonly unknown[];
  texts: readonly LocatedText[];
}

/**
 * Recently seen definitions by tool name, a few per name (servers that serve a tool of the same name): every
 * session lists the same catalog, and handing out the same strings again lets the memos downstream (see
 * `memo.ts`) find them without hashing them again. Two generations bound it by the characters of its texts.
 */
let knownDefinitions = new Map<string, KnownDefinition[]>();
let olderDefinitions = new Map<string, KnownDefinition[]>();
let knownChars = 0;
const MAX_KNOWN_CHARS = 8_388_608;
const DEFINITIONS_PER_NAME = 4;
/** Nesting compared before two definitions count as different (the texts only reach `MAX_DEPTH`). */
const MAX_COMPARED_DEPTH = 64;

/** The text a model reads from one tool definition: name, title, description, schemas, annotations. */
export function toolTexts(tool: ToolDefinition): readonly LocatedText[] {
  const texts = TEXTS_OF_TOOL.get(tool);
  if (texts !== undefined) return texts;
  const fields = [tool.title, tool.description, tool.inputSchema, tool.outputSchema, tool.annotations];
  const same = (known: KnownDefinition) => sameValue(known.fields, fields, 0);
  let known = knownDefinitions.get(tool.name)?.find(same);
  if (known === undefined) {
    known = olderDefinitions.get(tool.name)?.find(same) ?? { fields, texts: textsOf(tool) };
    const variants = knownDefinitions.get(tool.name) ?? [];
    knownDefinitions.set(tool.name, [known, ...variants.slice(0, DEFINITIONS_PER_NAME - 1)]);
    for (const text of known.texts) knownChars += text.text.length;
    if (knownChars > MAX_KNOWN_CHARS / 2) {
      olderDefinitions = knownDefinitions;
      knownDefinitions = new Map();
      knownChars = 0;
    }
  }
  TEXTS_OF_TOOL.set(tool, known.texts);
  return known.texts;
}

/**
 * Whether two JSON values are the same, keys in the same order: then `stringsIn` reads the same strings at
 * the same paths from both. Values nested deeper than `MAX_COMPARED_DEPTH` count as different.
 */
function sameValue(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > MAX_COMPARED_DEPTH) {
    return false;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index += 1) {
      if (!sameValue(a[index], b[index], depth + 1)) return false;
    }
    return true;
  }
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    if (key !== otherKeys[index]) return false;
    if (!sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

function textsOf(tool: ToolDefinition): LocatedText[] {
  const at = `tools[${tool.name}]`;
  const texts: LocatedText[] = [{ location: `${at}.name`, text: bounded(tool.name) }];
  if (tool.title !== undefined) texts.push({ location: `${at}.title`, text: bounded(tool.title) });
  if (tool.description !== undefined) texts.push({ location: `${at}.description`, text: bounded(tool.description) });
  texts.push(...stringsIn(tool.inputSchema, `${at}.inputSchema`));
  texts.push(...stringsIn(tool.outputSchema, `${at}.outputSchema`));
  texts.push(...stringsIn(tool.annotations, `${at}.annotations`));
  return texts;
}

/** JSON text of tool arguments as located strings; text that is not JSON is one string. */
export function argumentTexts(json: string): LocatedText[] {
  try {
    return stringsIn(JSON.parse(json) as unknown, 'arguments');
  } catch {
    return [{ location: 'arguments', text: bounded(json) }];
  }
}

/**
 * The text of a tool result as located strings: the text itself and, when it is JSON (a structured result, or
 * content an instrumentation serialized), the strings inside it, decoded, so that an escape character reaches
 * the rules as the character and not as the six characters `\u001b`.
 */
export function resultTexts(result: string): LocatedText[] {
  const texts: LocatedText[] = [{ location: 'result', text: bounded(result) }];
  const first = result.trimStart()[0];
  if (first !== '{' && first !== '[' && first !== '"') return texts;
  try {
    const parsed = JSON.parse(result) as unknown;
    texts.push(
      ...stringsIn(parsed, 'result').filter((text) => !text.location.endsWith('#key') || text.text.length > 24),
    );
  } catch {
    // Not JSON (or cut at the export limit): the text as it is.
  }
  return texts;
}

/** Lower-case name tokens joined by `_`, with `_` at both ends: `getFileContents` → `_get_file_contents_`. */
export function nameTokens(name: string): string {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return `_${spaced
    .split(/[^a-z0-9]/)
    .filter((token) => token !== '')
    .join('_')}_`;
}

/** A configured list of entries: their tokens, and what recently seen tool names matched (null: none). */
interface EntryList {
  tokens: string[];
  matches: Map<string, string | null>;
}

/** Per configured list (a config's arrays live as long as it does): a deployment calls few distinct tools, over and over. */
const ENTRY_LISTS = new WeakMap<readonly string[], EntryList>();
const MAX_CACHED_NAMES = 4096;

/** Whether a tool name contains one of the entries as whole tokens (`read_file` matches `file`, not `profile`). */
export function nameMatches(name: string, entries: readonly string[]): string | undefined {
  let list = ENTRY_LISTS.get(entries);
  if (list === undefined) {
    list = { tokens: entries.map(nameTokens), matches: new Map() };
    ENTRY_LISTS.set(entries, list);
  }
  let match = list.matches.get(name);
  if (match === undefined) {
    if (list.matches.size >= MAX_CACHED_NAMES) list.matches.clear();
    const tokens = nameTokens(name);
    const at = list.tokens.findIndex((entry) => tokens.includes(entry));
    match = at === -1 ? null : entries[at]!;
    list.matches.set(name, match);
  }
  return match ?? undefined;
}
