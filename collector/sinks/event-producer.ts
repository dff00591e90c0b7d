/**
 * A bounded buffer in front of the transport's producer. `deliver` resolves only once every record of the
 * batch is acknowledged by the log, so a caller that answers its client after `deliver` never acknowledges
 * what was not stored. When the buffer is full or the log is failing it refuses at once, with a retriable
 * error the receiver turns into 429/503 + `Retry-After`, instead of queueing without bound.
 */
import { McpwatchError } from '../../contracts/errors.ts';
import { MCP_EVENT_SCHEMA_VERSION, partitionKeyOf, type McpEvent } from '../../contracts/mcp-event.ts';
import { deadLetterReason } from '../../transport/dead-letter.ts';
import { retryDelayMs } from '../../transport/retry.ts';
import { HEADERS } from '../../transport/topics.ts';
import { MAX_RECORD_BYTES, type OutgoingRecord, type Producer } from '../../transport/types.ts';
import type { CollectorMetrics } from '../metrics.ts';
import type { DeadLetter } from '../transforms/normalize.ts';

export interface EventProducerOptions {
  eventsTopic: string;
  deadLetterTopic: string;
  /** Records accepted and not yet acknowledged, at most. A single batch larger than this is taken when empty. */
  maxBufferedRecords: number;
  /** Records handed to the producer in one send, at most (a batch is never split). */
  maxSendRecords: number;
  /** How long to refuse after a failed send; doubles on each failure up to `maxUnavailableMs`. */
  unavailableMs: number;
  maxUnavailableMs: number;
}

export interface Delivery {
  events: readonly McpEvent[];
  deadLetters: readonly DeadLetter[];
}

interface Pending {
  delivery: Delivery;
  size: number;
  resolve: () => void;
  reject: (error: McpwatchError) => void;
}

export class EventProducer {
  readonly #producer: Producer;
  readonly #options: EventProducerOptions;
  readonly #metrics: CollectorMetrics;
  #queue: Pending[] = [];
  #buffered = 0;
  #flushing: Promise<void> | undefined;
  #unavailableUntil = 0;
  /** Consecutive failed sends; the unavailability window is the one retry policy's delay for this attempt. */
  #failures = 0;
  readonly #backoff: Parameters<typeof retryDelayMs>[0];
  #closed = false;

  constructor(producer: Producer, options: EventProducerOptions, metrics: CollectorMetrics) {
    this.#producer = producer;
    this.#options = options;
    this.#metrics = metrics;
    // No jitter: the window is what `Retry-After` tells every refused client, so it must be one value.
    this.#backoff = { baseDelayMs: options.unavailableMs, maxDelayMs: options.maxUnavailableMs, random: () => 1 };
  }

  get bufferedRecords(): number {
    return this.#buffered;
  }

  /** Seconds a refused client should wait: the rest of the unavailability window, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.#unavailableUntil - Date.now()) / 1000));
  }

  /** False while sends are failing; true again once the window has passed (the next send probes). */
  get available(): boolean {
    return Date.now() >= this.#unavailableUntil;
  }

  /**
   * Resolves when all records are acknowledged. Rejects with `McpwatchError`: `LIMIT_EXCEEDED` (buffer full),
   * `TRANSPORT_FAILED` (the log is failing), `CLOSED`; all but `CLOSED` retriable, and then nothing of the
   * batch may be assumed stored.
   */
  deliver(delivery: Delivery): Promise<void> {
    const size = delivery.events.length + delivery.deadLetters.length;
    if (this.#closed) return Promise.reject(new McpwatchError('CLOSED', 'The collector is shutting down.'));
    if (size === 0) return Promise.resolve();
    if (!this.available) {
      return Promise.reject(
        new McpwatchError('TRANSPORT_FAILED', 'The event log is unavailable; retry later.', { retriable: true }),
      );
    }
    if (this.#buffered > 0 && this.#buffered + size > this.#options.maxBufferedRecords) {
      return Promise.reject(
        new McpwatchError(
          'LIMIT_EXCEEDED',
          `The delivery buffer is full (${this.#buffered} of ${this.#options.maxBufferedRecords} records); retry later.`,
          { retriable: true },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ delivery, size, resolve, reject });
      this.#buffered += size;
      this.#metrics.bufferDepth.set(this.#buffered);
      this.#flushing ??= this.#flush();
    });
  }

  /** Refuses new batches, waits for those accepted to be acknowledged or failed, then closes the producer. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
    await this.#producer.close();
  }

  /**
   * Clears `#flushing` in the same synchronous step that finds the queue empty: a `deliver` running in the
   * microtask after the last resolve then starts a new flush instead of joining one that has already ended.
   */
  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        const events: OutgoingRecord[] = [];
        const deadLetters = batch.flatMap(({ delivery }) => delivery.deadLetters.map(deadLetterRecord));
        const producedKinds: McpEvent['kind'][] = [];
        let oversized = 0;
        for (const { delivery } of batch) {
          for (const event of delivery.events) {
            const record = eventRecord(event);
            const bytes = recordValueBytes(record);
            if (bytes <= MAX_RECORD_BYTES) {
              events.push(record);
              producedKinds.push(event.kind);
            } else {
              // One record the log refuses must not refuse every client's batch with it.
              deadLetters.push(oversizedEventRecord(event, bytes));
              oversized++;
            }
          }
        }
        const stopTimer = this.#metrics.produceSeconds.startTimer();
        try {
          await Promise.all([
            events.length > 0 ? this.#producer.send(this.#options.eventsTopic, events) : undefined,
            deadLetters.length > 0 ? this.#producer.send(this.#options.deadLetterTopic, deadLetters) : undefined,
          ]);
          stopTimer();
          this.#failures = 0;
          for (const kind of producedKinds) this.#metrics.produced.inc({ kind });
          for (const pending of batch) {
            for (const letter of pending.delivery.deadLetters)
              this.#metrics.deadLettered.inc({ signal: letter.signal });
          }
          if (oversized > 0) this.#metrics.deadLettered.inc({ signal: 'log' }, oversized);
          for (const pending of batch) {
            this.#settle(pending);
            pending.resolve();
          }
        } catch (cause) {
          this.#failures += 1;
          const windowMs = retryDelayMs(this.#backoff, this.#failures, undefined);
          this.#unavailableUntil = Date.now() + windowMs;
          const error = new McpwatchError('TRANSPORT_FAILED', 'The event log did not acknowledge the batch.', {
            cause,
            retriable: true,
            retryAfterMs: windowMs,
          });
          // What is queued behind would meet the same failure; its clients retry after `Retry-After` instead.
          for (const pending of [...batch, ...this.#queue.splice(0)]) {
            this.#settle(pending);
            pending.reject(error);
          }
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  #takeBatch(): Pending[] {
    let records = 0;
    let count = 0;
    for (const pending of this.#queue) {
      if (count > 0 && records + pending.size > this.#options.maxSendRecords) break;
      records += pending.size;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  #settle(pending: Pending): void {
    this.#buffered -= pending.size;
    this.#metrics.bufferDepth.set(this.#buffered);
  }
}

const SCHEMA_VERSION = String(MCP_EVENT_SCHEMA_VERSION);

function eventRecord(event: McpEvent): OutgoingRecord {
  return {
    key: partitionKeyOf(event),
    value: JSON.stringify(event),
    headers: { [HEADERS.schemaVersion]: SCHEMA_VERSION },
  };
}

function deadLetterRecord(letter: DeadLetter): OutgoingRecord {
  return {
    key: null,
    value: JSON.stringify(letter),
    headers: { [HEADERS.deadLetterReason]: deadLetterReason(letter.reason), [HEADERS.deadLetterStage]: 'collector' },
  };
}

/** Bytes of a record's value; exact only when it might pass the limit (UTF-8 is at most 3 bytes per unit). */
function recordValueBytes(record: OutgoingRecord): number {
  const { value } = record;
  if (typeof value !== 'string') return value.length;
  return value.length * 3 <= MAX_RECORD_BYTES ? value.length : Buffer.byteLength(value);
}

/** What is kept of an event too large for one log record: who sent what, and how large it was. */
function oversizedEventRecord(event: McpEvent, bytes: number): OutgoingRecord {
  const reason = `event of ${bytes} bytes is over the ${MAX_RECORD_BYTES}-byte record limit`;
  return {
    key: null,
    value: JSON.stringify({
      signal: 'log',
      reason,
      record: {
        eventId: event.eventId,
        kind: event.kind,
        time: event.time,
        server: event.server.name.slice(0, 256),
        bytes,
      },
    }),
    headers: { [HEADERS.deadLetterReason]: deadLetterReason(reason), [HEADERS.deadLetterStage]: 'collector' },
  };
}
