/**
 * What one Logs Ingestion request's failure means for the rows in it, and how long the service asked to wait.
 * The waiting itself is `transport/retry.ts`'s.
 */
import { isAggregateLogsUploadError } from '@azure/monitor-ingestion';
import { retriableHttpStatus, retryAfterMsOf } from '../../../transport/retry.ts';

export type UploadFailure =
  /** 408, 429, 5xx, a network error or a token that could not be had: the same rows may go through later. */
  | { kind: 'retry'; detail: string; retryAfterMs?: number }
  /** 413: the request was too large for the service; split it. */
  | { kind: 'too-large'; detail: string }
  /** 400: something in the request is malformed; find the row and dead-letter it. */
  | { kind: 'rejected'; detail: string }
  /** 401, 403, 404 or another answer sending again cannot fix: stop and keep everything. */
  | { kind: 'stop'; status: number; detail: string };

interface RestErrorLike {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

export function classifyUploadError(error: unknown): UploadFailure {
  const cause = (isAggregateLogsUploadError(error) ? (error.errors[0]?.cause ?? error) : error) as RestErrorLike;
  const status = cause.statusCode;
  const detail = `${status === undefined ? (cause.code ?? cause.name ?? 'error') : `HTTP ${status}`}: ${cause.message ?? ''}`;
  if (status === undefined) return { kind: 'retry', detail };
  if (retriableHttpStatus(status)) {
    const retryAfterMs = retryAfterOf(cause.response?.headers);
    return retryAfterMs === undefined ? { kind: 'retry', detail } : { kind: 'retry', detail, retryAfterMs };
  }
  if (status === 413) return { kind: 'too-large', detail };
  if (status === 400) return { kind: 'rejected', detail };
  return { kind: 'stop', status, detail };
}

/** `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After` as seconds or an HTTP date. */
export function retryAfterOf(headers: { get(name: string): string | undefined } | undefined): number | undefined {
  if (headers === undefined) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = Number(headers.get(name));
    if (headers.get(name) !== undefined && Number.isFinite(value) && value >= 0) return value;
  }
  return retryAfterMsOf(headers.get('retry-after'));
}
