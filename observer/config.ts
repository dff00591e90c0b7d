import { z } from 'zod';
import { McpwatchError } from '../contracts/errors.ts';
import { describeIssues, issuesOf } from '../contracts/parse.ts';

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

/** The `MCPWATCH_*` variables of the instrumentation; the `OTEL_*` ones are read by the OTel SDK itself. */
export const InstrumentationConfig = z.strictObject({
  /** The protected resource identifier (RFC 9728) of this server; tokens whose audience differs are flagged. */
  MCPWATCH_RESOURCE: z.url().max(2048).optional(),
  /** Key of the token fingerprints and principal ids; processes that must correlate share it. At least 32 chars. */
  MCPWATCH_HMAC_KEY: z.string().min(32, 'expected at least 32 characters of key material').optional(),
  /** Export principal subjects as they are instead of an HMAC pseudonym. */
  MCPWATCH_REAL_IDS: flag.default(false),
  /** Export tool arguments and results (scrubbed and size-bounded). */
  MCPWATCH_CAPTURE_CONTENT: flag.default(false),
  /** Upper bound of each exported argument or result text, in characters. */
  MCPWATCH_CONTENT_MAX_CHARS: z.coerce.number().int().min(0).max(65_536).default(4096),
  /** Only OTLP/HTTP protobuf is shipped; refuse a setting the exporters would silently ignore. */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.literal('http/protobuf').optional(),
});

export type InstrumentationConfig = z.infer<typeof InstrumentationConfig>;

const KEYS = Object.keys(InstrumentationConfig.shape) as (keyof typeof InstrumentationConfig.shape)[];

/** Picks the known keys from the environment (other variables are none of ours) and validates them. */
export function loadInstrumentationConfig(env: NodeJS.ProcessEnv = process.env): InstrumentationConfig {
  const picked: Record<string, string> = {};
  for (const key of KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const result = InstrumentationConfig.safeParse(picked);
  if (result.success) return result.data;
  throw new McpwatchError('CONFIG_INVALID', `mcpwatch instrumentation: ${describeIssues(issuesOf(result.error))}`);
}
