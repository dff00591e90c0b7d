// `zod/mini`: the same validation as the rest of the project, a small part of its size in the start-up bundle.
import * as z from 'zod/mini';
import { McpwatchError } from '../contracts/errors.ts';

// `zod/mini` carries no message catalog: each check says what it expects.
const CONTENT_MAX = 'expected an integer from 0 to 65536';

const flag = z.pipe(
  z.enum(['true', 'false'], 'expected true or false'),
  z.transform((value) => value === 'true'),
);

/** The `MCPWATCH_*` variables of the instrumentation; the `OTEL_*` ones are read by the OTel SDK itself. */
export const InstrumentationConfig = z.strictObject({
  /** The protected resource identifier (RFC 9728) of this server; tokens whose audience differs are flagged. */
  MCPWATCH_RESOURCE: z.optional(z.url('expected a URL').check(z.maxLength(2048, 'expected at most 2048 characters'))),
  /** Key of the token fingerprints and principal ids; processes that must correlate share it. At least 32 chars. */
  MCPWATCH_HMAC_KEY: z.optional(z.string().check(z.minLength(32, 'expected at least 32 characters of key material'))),
  /** Export principal subjects as they are instead of an HMAC pseudonym. */
  MCPWATCH_REAL_IDS: z._default(flag, false),
  /** Export tool arguments and results (scrubbed and size-bounded). */
  MCPWATCH_CAPTURE_CONTENT: z._default(flag, false),
  /** Upper bound of each exported argument or result text, in characters. */
  MCPWATCH_CONTENT_MAX_CHARS: z._default(
    z.coerce.number(CONTENT_MAX).check(z.int(CONTENT_MAX), z.minimum(0, CONTENT_MAX), z.maximum(65_536, CONTENT_MAX)),
    4096,
  ),
  /** Only OTLP/HTTP protobuf is shipped; refuse a setting the exporters would silently ignore. */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.optional(
    z.literal('http/protobuf', 'expected http/protobuf (the only protocol shipped)'),
  ),
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
  const problems = result.error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new McpwatchError('CONFIG_INVALID', `mcpwatch instrumentation: ${problems}`);
}
