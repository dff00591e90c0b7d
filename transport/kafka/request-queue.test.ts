import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { installRequestQueueScheduler } from './request-queue.ts';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  destroy(): void;
}

const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (options: {
  maxInFlightRequests: number;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: Record<'debug' | 'info' | 'warn' | 'error', () => void>;
}) => Queue;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

void test("kafkajs's request queue arms no timer while nothing waits, and one while requests wait", () => {
  installRequestQueueScheduler();
  const queue = new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:9',
    logger: quiet,
  });
  try {
    // What a response does (fulfillRequest): look at the queue. Nothing waits, so nothing is re-armed.
    queue.checkPendingRequests();
    assert.equal(queue.throttleCheckTimeoutId, null);

    // A request waiting out a broker throttle is looked at again when the throttle ends.
    queue.throttledUntil = Date.now() + 60_000;
    queue.pending.push({});
    queue.checkPendingRequests();
    assert.notEqual(queue.throttleCheckTimeoutId, null);
  } finally {
    queue.destroy();
  }
});
