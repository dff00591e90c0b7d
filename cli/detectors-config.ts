import { parseDetectorsConfig, type DetectorsConfig } from '../detectors/config.ts';
import type { Rule } from '../detectors/types.ts';
import { configFromEnv, mergeConfig, readConfigFile } from './config-source.ts';

/** The detectors' configuration: the file (if any) merged with the environment, validated against the catalog. */
export async function loadDetectorsConfig(
  catalog: readonly Rule<unknown, unknown>[],
  options: { path?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<DetectorsConfig> {
  const fromFile = options.path === undefined ? {} : await readConfigFile(options.path);
  const merged = mergeConfig(fromFile ?? {}, configFromEnv(options.env ?? process.env));
  return parseDetectorsConfig(merged, catalog);
}
