/**
 * A small validator of OCSF records against the schema's own source files (dictionary, categories, classes,
 * objects, profiles), vendored as test data under `test/fixtures/ocsf/<version>/`. It compiles what the OCSF
 * server compiles for the parts a record uses: `extends` chains, `$include`d profiles, dictionary types, enums
 * merged down the chain, observable type ids from the `observable` markers, and it checks:
 *
 * - class, category and type arithmetic: `class_uid = category_uid * 1000 + uid`, `type_uid = class_uid * 100 +
 *   activity_id`, and the `*_name` captions when present;
 * - every required attribute present, no attribute the class or object does not define (those go in `unmapped`),
 *   no deprecated attribute, profile attributes only with the profile in `metadata.profiles`;
 * - scalar types (with the type's regex and length limit), arrays, enum ids and their caption siblings,
 *   `at_least_one` / `just_one` constraints.
 *
 * An object type that is not vendored fails the record, so a mapping that starts using one fails until its
 * definition is added here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OCSF_SCHEMA_DIR = fileURLToPath(new URL('../fixtures/ocsf/1.8.0/', import.meta.url));

interface AttributeDefinition {
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, { caption?: string | undefined }>;
  sibling?: string;
  profile?: string | null;
  '@deprecated'?: unknown;
  caption?: string;
}

interface Definition {
  name: string;
  caption?: string;
  uid?: number;
  category?: string;
  extends?: string;
  attributes: Record<string, AttributeDefinition>;
  constraints?: { at_least_one?: string[]; just_one?: string[] };
}

interface TypeDefinition {
  type?: string;
  regex?: string;
  max_len?: number;
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

export interface OcsfSchema {
  version: string;
  /** Problems with the record, as `path: what`; empty when it is valid. */
  validate(record: unknown): string[];
}

export function loadOcsfSchema(directory = OCSF_SCHEMA_DIR): OcsfSchema {
  const dictionary = readJson(join(directory, 'dictionary.json')) as {
    attributes: Record<string, AttributeDefinition & { observable?: number }>;
    types: { attributes: Record<string, TypeDefinition & { observable?: number }> };
  };
  const categories = (
    readJson(join(directory, 'categories.json')) as { attributes: Record<string, { uid: number; caption: string }> }
  ).attributes;
  const version = (readJson(join(directory, 'version.json')) as { version: string }).version;
  const filesIn = (sub: string): string[] => {
    const root = join(directory, sub);
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.json'))
      .map((file) => join(root, file));
  };
  const byName = (files: string[]) =>
    new Map(files.map((file) => readJson(file) as Definition).map((definition) => [definition.name, definition]));
  const objects = byName(filesIn('objects'));
  const classes = byName(filesIn('events'));

  const observableIds = new Set<number>([0, 99]);
  for (const marked of [...Object.values(dictionary.types.attributes), ...Object.values(dictionary.attributes)]) {
    if (marked.observable !== undefined) observableIds.add(marked.observable);
  }
  for (const object of objects.values()) {
    const marked = object as Definition & { observable?: number };
    if (marked.observable !== undefined) observableIds.add(marked.observable);
    for (const attribute of Object.values(object.attributes) as (AttributeDefinition & { observable?: number })[]) {
      if (typeof attribute === 'object' && attribute.observable !== undefined) observableIds.add(attribute.observable);
    }
  }

  /** A definition with its `extends` chain and included profiles folded in; enums merge, the child wins. */
  const compiled = new Map<string, Definition>();
  const compile = (kind: 'object' | 'class', name: string): Definition => {
    const key = `${kind}:${name}`;
    const done = compiled.get(key);
    if (done !== undefined) return done;
    const source = (kind === 'object' ? objects : classes).get(name);
    if (source === undefined) throw new Error(`OCSF ${kind} ${name} is not vendored in ${directory}`);
    const parent = source.extends === undefined ? undefined : compile(kind, source.extends);
    const attributes: Record<string, AttributeDefinition> = { ...parent?.attributes };
    const merge = (attributeName: string, own: AttributeDefinition): void => {
      const base = attributes[attributeName];
      const mergedEnum =
        base?.enum === undefined && own.enum === undefined ? undefined : { ...base?.enum, ...own.enum };
      attributes[attributeName] = { ...base, ...own, ...(mergedEnum === undefined ? {} : { enum: mergedEnum }) };
    };
    const { $include, ...own } = source.attributes as Record<string, AttributeDefinition> & { $include?: string[] };
    for (const included of $include ?? []) {
      const profile = readJson(join(directory, included)) as Definition;
      for (const [attributeName, definition] of Object.entries(profile.attributes)) {
        merge(attributeName, { ...definition, profile: profile.name });
      }
    }
    for (const [attributeName, definition] of Object.entries(own)) merge(attributeName, definition);
    const result: Definition = {
      ...source,
      attributes,
      ...(source.constraints === undefined && parent?.constraints !== undefined
        ? { constraints: parent.constraints }
        : {}),
      category: source.category ?? parent?.category,
    } as Definition;
    compiled.set(key, result);
    return result;
  };

  const scalarProblem = (typeName: string, value: unknown): string | undefined => {
    const type = dictionary.types.attributes[typeName];
    if (type === undefined) return `unknown type ${typeName}`;
    const base = type.type ?? typeName;
    switch (base) {
      case 'string_t':
        if (typeof value !== 'string') return `expected a string (${typeName})`;
        if (type.max_len !== undefined && value.length > type.max_len) return `longer than ${type.max_len}`;
        if (type.regex !== undefined && !new RegExp(type.regex).test(value)) return `not a valid ${typeName}`;
        return undefined;
      case 'integer_t':
        return Number.isInteger(value) && Math.abs(value as number) <= 2 ** 31 ? undefined : 'expected an integer';
      case 'long_t':
        return Number.isSafeInteger(value) ? undefined : `expected a long (${typeName})`;
      case 'float_t':
        return typeof value === 'number' && Number.isFinite(value) ? undefined : 'expected a number';
      case 'boolean_t':
        return typeof value === 'boolean' ? undefined : 'expected a boolean';
      case 'json_t':
        return value === undefined ? 'expected a JSON value' : undefined;
      default:
        return `unsupported base type ${base}`;
    }
  };

  const validateObject = (
    definition: Definition,
    value: Record<string, unknown>,
    path: string,
    profiles: ReadonlySet<string>,
    problems: string[],
  ): void => {
    for (const [name, attribute] of Object.entries(definition.attributes)) {
      const applies = typeof attribute.profile !== 'string' || profiles.has(attribute.profile);
      if (attribute.requirement === 'required' && applies && value[name] === undefined) {
        problems.push(`${path}${name}: required`);
      }
    }
    for (const [name, attributeValue] of Object.entries(value)) {
      const own = definition.attributes[name];
      const where = `${path}${name}`;
      if (own === undefined) {
        problems.push(`${where}: not an attribute of ${definition.name}`);
        continue;
      }
      const common = dictionary.attributes[name];
      const enums =
        common?.enum === undefined && own.enum === undefined ? {} : { enum: { ...common?.enum, ...own.enum } };
      const attribute = { ...common, ...own, ...enums };
      if (attribute['@deprecated'] !== undefined) problems.push(`${where}: deprecated`);
      if (typeof attribute.profile === 'string' && !profiles.has(attribute.profile)) {
        problems.push(`${where}: belongs to profile ${attribute.profile}, not in metadata.profiles`);
      }
      const items = attribute.is_array === true ? attributeValue : [attributeValue];
      if (!Array.isArray(items)) {
        problems.push(`${where}: expected an array`);
        continue;
      }
      items.forEach((item, index) => {
        const at = attribute.is_array === true ? `${where}[${index}]` : where;
        validateValue(attribute, definition.name, name, item, at, profiles, problems, value);
      });
    }
    const present = (names: string[]) => names.filter((name) => value[name] !== undefined).length;
    const { at_least_one: atLeastOne, just_one: justOne } = definition.constraints ?? {};
    if (atLeastOne !== undefined && present(atLeastOne) === 0) {
      problems.push(`${path || definition.name}: needs at least one of ${atLeastOne.join(', ')}`);
    }
    if (justOne !== undefined && present(justOne) !== 1) {
      problems.push(`${path || definition.name}: needs exactly one of ${justOne.join(', ')}`);
    }
  };

  const validateValue = (
    attribute: AttributeDefinition,
    owner: string,
    name: string,
    value: unknown,
    path: string,
    profiles: ReadonlySet<string>,
    problems: string[],
    parent: Record<string, unknown>,
  ): void => {
    const type = attribute.type;
    if (type === undefined) {
      problems.push(`${path}: no type in the dictionary`);
      return;
    }
    if (type.endsWith('_t')) {
      const problem = scalarProblem(type, value);
      if (problem !== undefined) problems.push(`${path}: ${problem}`);
    } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: expected an object (${type})`);
      return;
    } else if (type !== 'object') {
      try {
        validateObject(compile('object', type), value as Record<string, unknown>, `${path}.`, profiles, problems);
      } catch (error) {
        problems.push(`${path}: ${(error as Error).message}`);
      }
    }
    if (owner === 'observable' && name === 'type_id') {
      if (!observableIds.has(value as number)) problems.push(`${path}: not an observable type id`);
      return;
    }
    if (attribute.enum !== undefined && typeof value === 'number') {
      const entry = attribute.enum[String(value)];
      if (entry === undefined) {
        problems.push(`${path}: ${value} is not one of ${Object.keys(attribute.enum).join(', ')}`);
      } else if (attribute.sibling !== undefined && value !== 99) {
        const sibling = parent[attribute.sibling];
        if (sibling !== undefined && sibling !== entry.caption) {
          problems.push(
            `${path}: sibling ${attribute.sibling} is ${JSON.stringify(sibling)}, expected "${entry.caption}"`,
          );
        }
      }
    }
  };

  return {
    version,
    validate(record) {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) return ['record: not an object'];
      const value = record as Record<string, unknown>;
      const classUid = value.class_uid;
      const definition = [...classes.values()]
        .filter((candidate) => candidate.uid !== undefined)
        .map((candidate) => compile('class', candidate.name))
        .find((candidate) => categories[candidate.category!]!.uid * 1000 + candidate.uid! === classUid);
      if (definition === undefined) return [`class_uid: ${String(classUid)} is not a vendored class`];
      const category = categories[definition.category!]!;
      // As the OCSF server compiles them: the class's own uid and its category's are the only valid values.
      const attributes = {
        ...definition.attributes,
        class_uid: {
          ...definition.attributes.class_uid,
          enum: { [String(classUid)]: { caption: definition.caption } },
        },
        category_uid: {
          ...definition.attributes.category_uid,
          enum: { [String(category.uid)]: { caption: category.caption } },
        },
      };
      const problems: string[] = [];
      if (value.category_uid !== category.uid) problems.push(`category_uid: expected ${category.uid}`);
      if (value.type_uid !== (classUid as number) * 100 + (value.activity_id as number)) {
        problems.push('type_uid: expected class_uid * 100 + activity_id');
      }
      if (value.category_name !== undefined && value.category_name !== category.caption) {
        problems.push(`category_name: expected ${category.caption}`);
      }
      if (value.class_name !== undefined && value.class_name !== definition.caption) {
        problems.push(`class_name: expected ${definition.caption}`);
      }
      const activity = definition.attributes.activity_id?.enum?.[String(value.activity_id)];
      if (value.type_name !== undefined && activity !== undefined && value.activity_id !== 99) {
        const expected = `${definition.caption}: ${activity.caption}`;
        if (value.type_name !== expected) problems.push(`type_name: expected ${expected}`);
      }
      const metadata = value.metadata as { profiles?: unknown; version?: unknown } | undefined;
      if (metadata?.version !== version) problems.push(`metadata.version: expected ${version}`);
      const profiles = new Set(Array.isArray(metadata?.profiles) ? (metadata.profiles as string[]) : []);
      validateObject({ ...definition, attributes }, value, '', profiles, problems);
      return problems;
    },
  };
}
