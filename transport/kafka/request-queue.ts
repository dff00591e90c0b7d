/**
 * kafkajs 2.2.4 (unmaintained) re-arms a timer of its connection request queue every millisecond for as long as
 * the connection lives once one response arrived, whether or not anything waits (tulios/kafkajs#1704): about
 * 3 % of a core per idle broker connection, and on Node 24 a `TimeoutNegativeWarning` at start (#1751). The
 * queue's scheduler is replaced, once per process, by one that arms a timer only while requests wait: until
 * the broker's throttle ends, else at kafkajs's own polling interval. A request that arrives while none waits is
 * sent at once or queued by kafkajs's `push`, which schedules again, so nothing else depends on the idle timer.
 */
import { createRequire } from 'node:module';

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  /** null when no timer is armed (kafkajs's constructor and `destroy()` set it so). */
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's `CHECK_PENDING_REQUESTS_INTERVAL`: how often waiting requests are looked at when not throttled. */
const CHECK_PENDING_INTERVAL_MS = 10;

let installed = false;

export function installRequestQueueScheduler(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueInternals;
  };
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals): void {
    if (this.throttleCheckTimeoutId !== null || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_INTERVAL_MS,
    );
  };
}
