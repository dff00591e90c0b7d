/**
 * The one retry policy of mcpwatch: exponential backoff with full jitter, a server's `Retry-After` as a floor,
 * and only for failures that may succeed later. Every layer that retries (event producer, Kafka OTLP source,
 * alert delivery, sinks' background uploads) builds its policy here, so they all back off the same way.
 */
import { retry, handleWhen } from 'cockatiel';
import type { IBackoff, IBackoffFactory, IRetryBackoffContext } from 'cockatiel';
import { McpwatchError } from '../contracts/errors.ts';

export interface RetryOptions {
  /** Attempts in all, the first included; `Infinity` retries until the signal aborts. */
  attempts: number;
  /** Ceiling of the first wait, doubled per failure (ms). */
  baseDelayMs: number;
  /** Ceiling of any wait (ms). */
  maxDelayMs: number;
  /** Replaces `Math.random` for the jitter (tests). */
  random?: () => number;
}

/** A `Retry-After` beyond this is taken as this, so one bad header cannot park a sender for hours. */
export const MAX_RETRY_AFTER_MS = 600_000;

/** Failures worth another attempt: a retriable `McpwatchError`, or anything that is not an `McpwatchError`. */
export function isRetriable(error: unknown): boolean {
  return !(error instanceof McpwatchError) || error.retriable;
}

/** HTTP answers worth another attempt: the receiver may accept the same request later (408, 429, 5xx). */
export function retriableHttpStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** The wait before attempt `attempt + 1` after `attempt` failures (attempt ≥ 1). */
export function retryDelayMs(
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
  attempt: number,
  retryAfterMs: number | undefined,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  const jittered = ceiling * (options.random ?? Math.random)();
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

class JitteredBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly options: RetryOptions) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const error = 'error' in context.result ? context.result.error : undefined;
    const retryAfterMs = error instanceof McpwatchError ? error.retryAfterMs : undefined;
    return { duration: retryDelayMs(this.options, context.attempt, retryAfterMs), next: (c) => this.next(c) };
  }
}

export interface RetryPolicy {
  /** Runs `attempt` until it resolves, fails with a non-retriable error, runs out of attempts or `signal` aborts. */
  execute<T>(attempt: (attemptNumber: number) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Called before each wait, e.g. to log or count the failure. */
  onRetry(listener: (event: { error: unknown; delayMs: number; attempt: number }) => void): void;
}

export function retryPolicy(options: RetryOptions): RetryPolicy {
  const policy = retry(handleWhen(isRetriable), {
    maxAttempts: options.attempts === Infinity ? Infinity : Math.max(0, options.attempts - 1),
    backoff: new JitteredBackoff(options),
  });
  return {
    execute: (run, signal) => policy.execute(({ attempt: retries }) => run(retries + 1), signal),
    onRetry(listener) {
      // `event.attempt` is the attempt that failed, per call: concurrent executions do not share a counter.
      policy.onRetry((event) => {
        listener({ error: 'error' in event ? event.error : undefined, delayMs: event.delay, attempt: event.attempt });
      });
    },
  };
}

/**
 * A `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP date) in ms; undefined when absent or not
 * understood. Capping is `retryDelayMs`'s job.
 */
export function retryAfterMsOf(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
