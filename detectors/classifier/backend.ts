/**
 * What a classifier backend is to the stage: one attempt at classifying a few texts, no retries of its own
 * (the stage retries with the one policy of `transport/retry.ts`), failures as `CLASSIFICATION_FAILED` with
 * `retriable` and the backend's `Retry-After`.
 */
import type { ClassificationCategory, ClassificationSubject, ClassifierBackend } from '../../contracts/mcp-event.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { retriableHttpStatus, retryAfterMsOf } from '../../transport/retry.ts';

export interface ClassificationInput {
  subject: ClassificationSubject;
  text: string;
}

export interface Verdict {
  attackDetected: boolean;
  confidence?: number;
  category?: ClassificationCategory;
  rationale?: string;
  model?: string;
}

export interface ClassifierBackendClient {
  readonly name: ClassifierBackend;
  /** Inputs one request may carry, and their characters together. */
  readonly maxBatchItems: number;
  readonly maxBatchChars: number;
  /** One verdict per input, in order. */
  classify(inputs: readonly ClassificationInput[], signal: AbortSignal): Promise<Verdict[]>;
}

/** Answers are small JSON objects; anything longer is cut before parsing. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** At most `MAX_ANSWER_BYTES` of the body. */
  body: string;
}

/** POSTs JSON and reads a bounded answer; a network failure or the signal's deadline is a retriable failure. */
export async function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
  where: string,
): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    throw new McpwatchError('CLASSIFICATION_FAILED', `${where}: no answer (${describe(error)})`, {
      cause: error,
      retriable: true,
    });
  }
  let text: string;
  try {
    text = await boundedText(response);
  } catch (error) {
    throw new McpwatchError('CLASSIFICATION_FAILED', `${where}: answer cut off (${describe(error)})`, {
      cause: error,
      retriable: true,
    });
  }
  return { status: response.status, headers: response.headers, body: text };
}

async function boundedText(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    bytes += value.byteLength;
    if (bytes >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

/** A failed answer as an error: 408, 429 and 5xx are worth another attempt (after `Retry-After`), the rest not. */
export function refusal(where: string, answer: HttpAnswer, detail: string | undefined): McpwatchError {
  const retriable = retriableHttpStatus(answer.status);
  const retryAfterMs = retriable ? retryAfterMsOf(answer.headers.get('retry-after')) : undefined;
  return new McpwatchError(
    'CLASSIFICATION_FAILED',
    `${where} answered HTTP ${answer.status}${detail === undefined ? '' : ` (${detail})`}`,
    { retriable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
  );
}

export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Text a remote party wrote, fit for a log line or evidence: control characters dropped, bounded. */
export function printable(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
