import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { McpwatchError } from '../contracts/errors.ts';
import { MAX_RETRY_AFTER_MS, retriableHttpStatus, retryAfterMsOf, retryDelayMs, retryPolicy } from './retry.ts';

const fast = { baseDelayMs: 1, maxDelayMs: 4, random: () => 1 };

test('retries retriable failures until one succeeds', async () => {
  const policy = retryPolicy({ attempts: 5, ...fast });
  const seen: number[] = [];
  const result = await policy.execute((attempt) => {
    seen.push(attempt);
    return attempt < 3
      ? Promise.reject(new McpwatchError('DELIVERY_FAILED', 'busy', { retriable: true }))
      : Promise.resolve('ok');
  });
  assert.equal(result, 'ok');
  assert.deepEqual(seen, [1, 2, 3]);
});

test('a non-retriable failure is not tried again; attempts are bounded', async () => {
  const once = retryPolicy({ attempts: 5, ...fast });
  let calls = 0;
  await assert.rejects(
    once.execute(() => {
      calls += 1;
      return Promise.reject(new McpwatchError('DELIVERY_FAILED', 'forbidden', { retriable: false }));
    }),
    /forbidden/,
  );
  assert.equal(calls, 1);
  const bounded = retryPolicy({ attempts: 3, ...fast });
  calls = 0;
  await assert.rejects(
    bounded.execute(() => {
      calls += 1;
      return Promise.reject(new Error('reset'));
    }),
    /reset/,
  );
  assert.equal(calls, 3);
});

test('backoff doubles to its ceiling, with Retry-After as a floor capped at ten minutes', () => {
  const options = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 1 };
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((attempt) => retryDelayMs(options, attempt, undefined)),
    [100, 200, 400, 800, 1000],
  );
  assert.equal(retryDelayMs({ ...options, random: () => 0 }, 1, 5000), 5000);
  assert.equal(retryDelayMs(options, 1, 10 * MAX_RETRY_AFTER_MS), MAX_RETRY_AFTER_MS);
});

test('onRetry sees each failure and the wait before the next attempt', async () => {
  const policy = retryPolicy({ attempts: 3, ...fast });
  const events: Array<{ attempt: number; delayMs: number }> = [];
  policy.onRetry(({ attempt, delayMs }) => events.push({ attempt, delayMs }));
  await assert.rejects(policy.execute(() => Promise.reject(new Error('down'))));
  assert.deepEqual(events, [
    { attempt: 1, delayMs: 1 },
    { attempt: 2, delayMs: 2 },
  ]);
});

test('onRetry numbers the attempts of each call, however many run at once', async () => {
  const policy = retryPolicy({ attempts: 3, ...fast });
  const attempts: number[] = [];
  policy.onRetry(({ attempt }) => attempts.push(attempt));
  const failing = () => Promise.reject(new Error('down'));
  const slowlyFailing = () => delay(30).then(failing);
  await Promise.all([assert.rejects(policy.execute(failing)), assert.rejects(policy.execute(slowlyFailing))]);
  assert.deepEqual(
    attempts.sort((a, b) => a - b),
    [1, 1, 2, 2],
  );
});

test('Retry-After is read as delay-seconds or an HTTP date', () => {
  const now = Date.UTC(2026, 0, 1);
  assert.equal(retryAfterMsOf('3', now), 3000);
  assert.equal(retryAfterMsOf(' 0 ', now), 0);
  assert.equal(retryAfterMsOf(new Date(now + 10_000).toUTCString(), now), 10_000);
  assert.equal(retryAfterMsOf(new Date(now - 10_000).toUTCString(), now), 0);
  assert.equal(retryAfterMsOf('soon', now), undefined);
  assert.equal(retryAfterMsOf(null, now), undefined);
  assert.equal(retryAfterMsOf(undefined, now), undefined);
});

test('HTTP 408, 429 and 5xx are worth another attempt; other answers are not', () => {
  assert.deepEqual(
    [200, 400, 401, 404, 408, 413, 429, 499, 500, 503, 599].filter(retriableHttpStatus),
    [408, 429, 500, 503, 599],
  );
});
