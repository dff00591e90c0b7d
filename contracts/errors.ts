/**
 * The closed set of error codes mcpwatch raises. Alerts are data, not errors; these are for failures.
 */
export const errorCodes = [
  /** A configuration file, variable or CLI option is invalid; `message` names the key and what was expected. */
  'CONFIG_INVALID',
  /** Input from outside (OTLP body, Kafka record, replay line) could not be parsed; it was dead-lettered. */
  'INPUT_INVALID',
  /** A limit on size, nesting, count or rate was exceeded; the input was refused, not truncated silently. */
  'LIMIT_EXCEEDED',
  /** The message log (Kafka or embedded) failed an operation. */
  'TRANSPORT_FAILED',
  /** A sink could not confirm delivery; `retriable` says whether trying again can help. */
  'DELIVERY_FAILED',
  /** A classifier backend gave no usable verdict (refused, failed, or answered garbage); `retriable` says whether asking again can help. */
  'CLASSIFICATION_FAILED',
  /** A required service did not become ready in time (e.g. the Kafka broker). */
  'NOT_READY',
  /** The component was closed and can take no more work. */
  'CLOSED',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface McpwatchErrorOptions {
  cause?: unknown;
  /** Whether the same operation may succeed if tried again later. */
  retriable?: boolean;
  /** How long the other side asked us to wait before trying again (its `Retry-After`), in ms. */
  retryAfterMs?: number;
}

export class McpwatchError extends Error {
  override readonly name = 'McpwatchError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: McpwatchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isMcpwatchError(error: unknown, code?: ErrorCode): error is McpwatchError {
  return error instanceof McpwatchError && (code === undefined || error.code === code);
}
