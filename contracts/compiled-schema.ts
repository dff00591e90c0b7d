/**
 * Validators compiled from the contracts' zod schemas, for the constructs the event kinds use: loose, strict and
 * plain objects, optional fields, strings with lengths and patterns (ISO date-times, regexes), literals, string
 * enums, numbers with bounds and integer format, booleans, arrays with lengths, unknown values. A compiled
 * validator returns what the schema's parse returns for an input it accepts, and `REJECTED` for any other: zod
 * then parses that input again for its issues. A schema with anything else (defaults, records, refinements,
 * coercion, other formats) compiles to undefined and is left to zod.
 */
import type { z } from 'zod';

export const REJECTED: unique symbol = Symbol('rejected');
export type CompiledSchema = (input: unknown) => unknown;

/** The parts of a zod 4 schema definition read here (`schema._zod.def`). */
interface Definition {
  type: string;
  checks?: readonly { _zod: { def: CheckDefinition } }[];
  coerce?: boolean;
  format?: string;
  pattern?: RegExp;
  values?: readonly unknown[];
  entries?: Record<string, unknown>;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  discriminator?: string;
  options?: readonly z.ZodType[];
}

interface CheckDefinition {
  check: string;
  minimum?: number;
  maximum?: number;
  value?: number;
  inclusive?: boolean;
  format?: string;
  pattern?: RegExp;
}

interface Internals {
  def: Definition;
  optin?: string;
  optout?: string;
}

const internalsOf = (schema: z.ZodType) => (schema as unknown as { _zod: Internals })._zod;

/** The string formats whose check is their pattern alone. */
const PATTERN_FORMATS = new Set(['datetime', 'regex']);

export function compileSchema(schema: z.ZodType): CompiledSchema | undefined {
  const { def } = internalsOf(schema);
  const checks = checksOf(def);
  if (def.coerce === true || checks === undefined) return undefined;
  const { lengths, minLength, maxLength, bounds, patterns } = checks;
  switch (def.type) {
    case 'string': {
      if (bounds.length > 0) return undefined;
      if (def.format !== undefined) {
        if (!PATTERN_FORMATS.has(def.format) || def.pattern === undefined) return undefined;
        patterns.unshift(def.pattern);
      }
      if (patterns.length === 0)
        return (input) =>
          typeof input === 'string' && input.length >= minLength && input.length <= maxLength ? input : REJECTED;
      return (input) =>
        typeof input === 'string' &&
        input.length >= minLength &&
        input.length <= maxLength &&
        matchesAll(patterns, input)
          ? input
          : REJECTED;
    }
    case 'number':
      if (checks.lengthChecked || patterns.length > 0) return undefined;
      return (input) =>
        typeof input === 'number' && Number.isFinite(input) && withinAll(bounds, input) ? input : REJECTED;
    case 'array': {
      const element = def.element === undefined ? undefined : compileSchema(def.element);
      if (element === undefined || bounds.length > 0 || patterns.length > 0) return undefined;
      return (input) => {
        if (!Array.isArray(input) || !lengths(input.length)) return REJECTED;
        const output: unknown[] = new Array(input.length);
        for (let index = 0; index < input.length; index += 1) {
          const item = element(input[index]);
          if (item === REJECTED) return REJECTED;
          output[index] = item;
        }
        return output;
      };
    }
  }
  if (!checks.none) return undefined;
  switch (def.type) {
    case 'boolean':
      return (input) => (typeof input === 'boolean' ? input : REJECTED);
    case 'literal': {
      const values = new Set(def.values);
      return (input) => (values.has(input) ? input : REJECTED);
    }
    case 'enum': {
      const values = Object.values(def.entries ?? {});
      if (!values.every((value) => typeof value === 'string')) return undefined;
      const allowed = new Set<unknown>(values);
      return (input) => (allowed.has(input) ? input : REJECTED);
    }
    case 'unknown':
      return (input) => input;
    case 'object':
      return compileObject(def);
    case 'union':
      return def.discriminator === undefined ? undefined : compileDiscriminated(def);
    default:
      return undefined;
  }
}

function matchesAll(patterns: readonly RegExp[], input: string): boolean {
  for (const pattern of patterns) {
    pattern.lastIndex = 0;
    if (!pattern.test(input)) return false;
  }
  return true;
}

function withinAll(bounds: readonly ((value: number) => boolean)[], input: number): boolean {
  for (const bound of bounds) if (!bound(input)) return false;
  return true;
}

/** A definition's checks, when each is a length, a bound, the integer format or a pattern. */
function checksOf(def: Definition) {
  let minLength = 0;
  let maxLength = Number.POSITIVE_INFINITY;
  let lengthChecked = false;
  const bounds: ((value: number) => boolean)[] = [];
  const patterns: RegExp[] = [];
  for (const { _zod } of def.checks ?? []) {
    const check = _zod.def;
    if (check.check === 'min_length' && check.minimum !== undefined) {
      minLength = Math.max(minLength, check.minimum);
      lengthChecked = true;
    } else if (check.check === 'max_length' && check.maximum !== undefined) {
      maxLength = Math.min(maxLength, check.maximum);
      lengthChecked = true;
    } else if (check.check === 'string_format' && check.format === 'regex' && check.pattern !== undefined)
      patterns.push(check.pattern);
    else if (check.check === 'greater_than' && check.value !== undefined) {
      const { value, inclusive } = check;
      bounds.push(inclusive === true ? (input) => input >= value : (input) => input > value);
    } else if (check.check === 'less_than' && check.value !== undefined) {
      const { value, inclusive } = check;
      bounds.push(inclusive === true ? (input) => input <= value : (input) => input < value);
    } else if (check.check === 'number_format' && check.format === 'safeint') bounds.push(Number.isSafeInteger);
    else return undefined;
  }
  return {
    none: (def.checks ?? []).length === 0,
    lengthChecked,
    lengths: (length: number) => length >= minLength && length <= maxLength,
    minLength,
    maxLength,
    bounds,
    patterns,
  };
}

interface CompiledField {
  key: string;
  optional: boolean;
  parse: CompiledSchema;
}

function compileObject(def: Definition): CompiledSchema | undefined {
  const fields: CompiledField[] = [];
  for (const [key, schema] of Object.entries(def.shape ?? {})) {
    const { optin, optout } = internalsOf(schema);
    const optional = optin === 'optional' && optout === 'optional';
    if (key === '__proto__' || (!optional && (optin !== undefined || optout !== undefined))) return undefined;
    const parse = compileSchema(optional ? (internalsOf(schema).def.innerType ?? schema) : schema);
    if (parse === undefined || (optional && internalsOf(schema).def.type !== 'optional')) return undefined;
    fields.push({ key, optional, parse });
  }
  const fieldIndex = new Map(fields.map((field, index) => [field.key, index]));
  const required = fields.filter((field) => !field.optional).length;
  const catchall = def.catchall === undefined ? 'strip' : internalsOf(def.catchall).def.type;
  if (catchall !== 'strip' && catchall !== 'unknown' && catchall !== 'never') return undefined;

  /** How to read an input with these keys in this order, or REJECTED when no input with them is valid. */
  const layoutOf = (record: Record<string, unknown>): Layout | typeof REJECTED => {
    const keys: string[] = [];
    const keyFields: (CompiledField | undefined)[] = [];
    const fieldPositions: [number, number][] = [];
    const extraPositions: number[] = [];
    for (const key in record) {
      const index = fieldIndex.get(key);
      if (index === undefined) {
        if (catchall === 'never') return REJECTED;
        if (catchall === 'unknown' && key !== '__proto__') extraPositions.push(keys.length);
      } else fieldPositions.push([index, keys.length]);
      keys.push(key);
      keyFields.push(index === undefined ? undefined : fields[index]);
    }
    const requiredSeen = fieldPositions.filter(([index]) => !fields[index]!.optional).length;
    if (requiredSeen !== required) return REJECTED;
    fieldPositions.sort(([a], [b]) => a - b);
    return { keys, fields: keyFields, order: [...fieldPositions.map(([, position]) => position), ...extraPositions] };
  };
  // Inputs of one kind mostly come with the same keys in the same order: their layouts are remembered, and an
  // input is read in one walk of its keys. Inherited keys count only when enumerable: the input is parsed JSON,
  // whose objects inherit none.
  const layouts: Layout[] = [];
  return (input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return REJECTED;
    const record = input as Record<string, unknown>;
    for (let index = 0; index < layouts.length; index += 1) {
      const output = readWith(layouts[index]!, record);
      if (output === MISMATCH) continue;
      if (index > 0) [layouts[0], layouts[index]] = [layouts[index]!, layouts[0]!]; // the latest first
      return output;
    }
    const layout = layoutOf(record);
    if (layout === REJECTED) return REJECTED;
    if (layouts.length === LAYOUTS_PER_OBJECT) layouts.pop();
    layouts.unshift(layout);
    return readWith(layout, record);
  };
}

/** Layouts remembered per object schema. */
const LAYOUTS_PER_OBJECT = 8;
const MISMATCH = Symbol('mismatch');

interface Layout {
  /** The input's keys, in the order `for...in` gives them. */
  keys: string[];
  /** The field of each key; undefined for a key the schema does not name. */
  fields: (CompiledField | undefined)[];
  /** Positions in `keys` in the output's order: the schema's fields in its order, then the extras kept. */
  order: number[];
}

/** The parsed object when `record` has the layout's keys in its order, REJECTED when a field is invalid. */
function readWith(layout: Layout, record: Record<string, unknown>): unknown {
  const { keys, fields } = layout;
  const values: unknown[] = new Array<unknown>(keys.length);
  let position = 0;
  for (const key in record) {
    if (keys[position] !== key) return MISMATCH;
    const value = record[key];
    const field = fields[position];
    if (field === undefined) values[position] = value;
    else {
      const parsed = field.optional && value === undefined ? undefined : field.parse(value);
      if (parsed === REJECTED) return REJECTED;
      values[position] = parsed;
    }
    position += 1;
  }
  if (position !== keys.length) return MISMATCH;
  const output: Record<string, unknown> = {};
  for (const at of layout.order) output[keys[at]!] = values[at];
  return output;
}

function compileDiscriminated(def: Definition): CompiledSchema | undefined {
  const discriminator = def.discriminator!;
  const byValue = new Map<unknown, CompiledSchema | undefined>();
  for (const option of def.options ?? []) {
    const values = internalsOf(internalsOf(option).def.shape?.[discriminator] ?? option).def.values ?? [];
    const compiled = compileSchema(option);
    for (const value of values) byValue.set(value, byValue.has(value) ? undefined : compiled);
  }
  return (input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return REJECTED;
    const parse = byValue.get((input as Record<string, unknown>)[discriminator]);
    return parse === undefined ? REJECTED : parse(input);
  };
}
