/**
 * The classifier stage's configuration: the `classifier` section of the detectors configuration. Absent, the
 * stage does not run. Keys come from the environment only (`keyEnv`), never from a file.
 */
import { z } from 'zod';
import { ClassificationSubject } from '../../contracts/mcp-event.ts';

/** Prompt Shields' documented input limits (Content Safety overview, "Input requirements"). */
export const PROMPT_SHIELDS_LIMITS = { maxDocuments: 5, maxDocumentsChars: 10_000, maxUserPromptChars: 10_000 };
/** The newest generally available Content Safety API version that has `text:shieldPrompt`. */
export const PROMPT_SHIELDS_API_VERSION = '2024-09-01';
export const CONTENT_SAFETY_KEY_ENV = 'MCPWATCH_CONTENT_SAFETY_KEY';
export const JUDGE_KEY_ENV = 'MCPWATCH_JUDGE_API_KEY';

export const PromptShieldsBackendConfig = z.strictObject({
  type: z.literal('prompt-shields'),
  /** The Content Safety resource endpoint, e.g. `https://<resource>.cognitiveservices.azure.com`. */
  endpoint: z.url({ protocol: /^https?$/, error: 'expected an https:// (or loopback http://) URL' }),
  apiVersion: z.string().min(1).max(32).default(PROMPT_SHIELDS_API_VERSION),
  /** `key`: `Ocp-Apim-Subscription-Key` from the variable `keyEnv` names; `entra`: a Microsoft Entra token (DefaultAzureCredential). */
  auth: z.enum(['key', 'entra']).default('key'),
  /** Environment variable holding the resource key (with `auth: key`). */
  keyEnv: z.string().min(1).default(CONTENT_SAFETY_KEY_ENV),
  /** A user-assigned managed identity for `auth: entra`; otherwise DefaultAzureCredential's chain. */
  managedIdentityClientId: z.string().min(1).optional(),
});

export const OpenAiJudgeBackendConfig = z.strictObject({
  type: z.literal('openai-judge'),
  /** The OpenAI-compatible API base, `/v1` included, as OpenAI clients take it: `http://127.0.0.1:8080/v1` (llama.cpp), `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8000/v1` (vLLM). */
  baseUrl: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** The `model` of each request: the name the server serves the judge model under. */
  model: z.string().min(1).max(256),
  /** Environment variable holding a bearer token, when the server wants one; no `Authorization` header when unset. */
  keyEnv: z.string().min(1).default(JUDGE_KEY_ENV),
  /** `json_object` asks the server to constrain the answer to JSON; `none` for servers that refuse `response_format`. */
  responseFormat: z.enum(['json_object', 'none']).default('json_object'),
  /** Upper bound of the judge's answer, in tokens. */
  maxTokens: z.int().min(16).max(1024).default(128),
});

export const ClassifierBackendConfig = z.discriminatedUnion('type', [
  PromptShieldsBackendConfig,
  OpenAiJudgeBackendConfig,
]);

export const ClassifierLimits = z.strictObject({
  /** Requests in flight at once. */
  maxConcurrent: z.int().min(1).max(64).default(2),
  /** Requests started per rolling minute, retries included. */
  requestsPerMinute: z.int().min(1).max(60_000).default(60),
  /** One request's deadline (ms); past it the attempt fails retriably. */
  requestTimeoutMs: z.int().min(100).max(120_000).default(10_000),
  /** Attempts per request, the first included; waits follow the one retry policy and the backend's `Retry-After`. */
  attempts: z.int().min(1).max(10).default(3),
  /** Characters of one piece of content sent at most; longer content is sent as its head and tail with a note of the cut. */
  maxContentChars: z.int().min(200).max(100_000).default(4_000),
  /** Characters sent per clock hour (UTC), retries included; content beyond is not classified (counted). */
  charsPerHour: z.int().min(0).default(250_000),
  /** Characters sent per UTC day, retries included. */
  charsPerDay: z.int().min(0).default(2_000_000),
  /** Distinct contents waiting for a request; beyond, new content is dropped (counted). */
  queueSize: z.int().min(1).max(100_000).default(1_000),
  /** Verdicts remembered by content hash (least recently used forgotten first). */
  cacheEntries: z.int().min(1).max(1_000_000).default(10_000),
});

export const ClassifierConfig = z
  .strictObject({
    backend: ClassifierBackendConfig,
    /** What is sent: tool definitions and server instructions (tool catalogs), and tool results (opt-in content capture). */
    subjects: z.array(ClassificationSubject).min(1).default(['tool-definition', 'server-instructions', 'tool-result']),
    /** Where the stage's consumer group starts when it has no committed offset: `latest` classifies from now on, not the log's history. */
    from: z.enum(['earliest', 'latest']).default('latest'),
    limits: ClassifierLimits.prefault({}),
  })
  .refine(
    (config) =>
      config.backend.type !== 'prompt-shields' ||
      config.limits.maxContentChars <= PROMPT_SHIELDS_LIMITS.maxDocumentsChars,
    {
      message: `Prompt Shields takes at most ${PROMPT_SHIELDS_LIMITS.maxDocumentsChars} characters of documents per request`,
      path: ['limits', 'maxContentChars'],
    },
  );

export type ClassifierConfig = z.output<typeof ClassifierConfig>;
export type ClassifierLimits = z.output<typeof ClassifierLimits>;
export type PromptShieldsBackendConfig = z.output<typeof PromptShieldsBackendConfig>;
export type OpenAiJudgeBackendConfig = z.output<typeof OpenAiJudgeBackendConfig>;
