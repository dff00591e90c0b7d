/**
 * Where the pipeline's configurations come from, read at the CLI edge and handed to the components as plain
 * objects: a JSON or YAML file, overridden by `MCPWATCH_CONFIG__<path>` variables. The collector and the
 * detectors each validate what they are given with their own schema (the detectors' in `detectors-config.ts`,
 * so that the collector loads nothing of the detectors).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { McpwatchError } from '../contracts/errors.ts';

/** Prefix of variables that override the file: `MCPWATCH_CONFIG__engine__allowedLatenessMs=5000`. */
export const CONFIG_ENV_PREFIX = 'MCPWATCH_CONFIG__';

/**
 * Overrides from the environment: the name after the prefix is the key path with `__` between keys (as
 * spelled in the file), the value JSON when it parses as JSON and a string otherwise.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(CONFIG_ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(CONFIG_ENV_PREFIX.length).split('__');
    if (path.some((key) => key === '' || key === '__proto__' || key === 'constructor' || key === 'prototype')) {
      throw new McpwatchError('CONFIG_INVALID', `Invalid configuration variable ${name}: empty or reserved key`);
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let node = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : (node[key] = {});
    }
    node[path.at(-1)!] = value;
  }
  return out;
}

/** Deep merge of plain objects; arrays and scalars of `override` replace those of `base`. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = mergeConfig(base[key], value);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Configuration files larger than this are refused: it is a config, not a data set. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Reads a JSON or YAML file (by extension; `.json` is JSON, anything else YAML, a superset of JSON). */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_CONFIG_BYTES) {
      throw new McpwatchError('LIMIT_EXCEEDED', `Configuration file ${path} is over ${MAX_CONFIG_BYTES} bytes`);
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof McpwatchError) throw error;
    throw new McpwatchError('CONFIG_INVALID', `Cannot read configuration file ${path}`, { cause: error });
  }
  try {
    return path.endsWith('.json')
      ? (JSON.parse(text) as unknown)
      : (parseYaml(text, { maxAliasCount: 100 }) as unknown);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new McpwatchError('CONFIG_INVALID', `Configuration file ${path} is not valid: ${reason}`, { cause: error });
  }
}
