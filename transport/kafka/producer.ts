/**
 * The seam's `Producer` over a kafkajs idempotent producer: acks from all in-sync replicas, errors as
 * `TRANSPORT_FAILED`.
 *
 * A failed send leaves the producer's sequence numbers in doubt: the broker may have appended the batch
 * (a timeout, a connection lost after the write) while kafkajs rolls its sequence back. The next batch would
 * then reuse the sequence, which the broker refuses with OUT_OF_ORDER_SEQUENCE_NUMBER on every send from then
 * on. So, as Kafka's own client resets its producer id in that case, a failed send retires its kafkajs producer
 * and the next send starts a fresh one (a new producer id, sequences from 0). Sends stay at least once.
 *
 * A broker refuses a request whose records for one partition pass its `message.max.bytes` (1 MiB by default),
 * so one send goes out as consecutive requests of at most `REQUEST_BYTES` each, in order; a record larger than
 * that goes alone and the broker decides. Without a transactional id, only a send that fits one request is
 * appended all or nothing. With one, each send is a transaction (one at a time: kafkajs runs one per producer),
 * committed after its last request and aborted on any failure, so readers (read committed) see all of it or
 * nothing. A failed transactional session is retired like any other: the fresh producer's InitProducerId bumps
 * the epoch, which also aborts whatever the old one left open. Fenced by a producer opened elsewhere with the
 * same id, this producer fails every later send instead of fencing it back.
 */
import type { Producer as KafkaProducerClient, Message } from 'kafkajs';
import { McpwatchError } from '../../contracts/errors.ts';
import type { OutgoingRecord, Producer } from '../types.ts';
import { isFenced, transportError } from './errors.ts';

/** Below Kafka's default `message.max.bytes` (1,048,588) with room for the batch and record framing. */
const REQUEST_BYTES = 900 * 1024;
/** Framing of one record in a batch (varints, attributes, offsets), rounded up. */
const RECORD_OVERHEAD_BYTES = 64;

interface Session {
  client: KafkaProducerClient;
  connected: Promise<void>;
  inFlight: number;
  retired: boolean;
}

export interface KafkaProducerOptions {
  /** Makes `client` connected and ready to send (for a transactional one: its producer id initialized). */
  connect: (client: KafkaProducerClient) => Promise<void>;
  ackTimeoutMs: number;
  /** Set when `createClient` makes transactional producers: each send is then one transaction. */
  transactionalId: string | undefined;
  /**
   * Resolves once read-committed readers see past each partition's offset given: the broker writes a committed
   * transaction's markers after it answered the commit, and a send resolves only once it is readable (as an
   * acknowledged plain send is), so that a state restore that follows, on another instance too, reads it.
   */
  awaitReadable: (topic: string, offsets: ReadonlyMap<number, bigint>) => Promise<void>;
  /** The topic's partitions now (kafkajs drops a record for a partition the topic lacks without a word). */
  partitionCount: (topic: string) => Promise<number>;
  onClose: () => void;
}

export class KafkaProducer implements Producer {
  readonly #createClient: () => KafkaProducerClient;
  readonly #options: KafkaProducerOptions;
  #session: Session | undefined;
  readonly #retiring = new Set<Promise<void>>();
  /** The send before this one, for a transactional producer (kafkajs runs one transaction at a time). */
  #previousSend: Promise<unknown> = Promise.resolve();
  #fenced: McpwatchError | undefined;
  #closed = false;
  /** Partitions per topic as last read; a topic only ever gains partitions. */
  readonly #partitions = new Map<string, number>();

  /** `client` is connected already; `createClient` makes the replacements after a failed send. */
  constructor(client: KafkaProducerClient, createClient: () => KafkaProducerClient, options: KafkaProducerOptions) {
    this.#session = { client, connected: Promise.resolve(), inFlight: 0, retired: false };
    this.#createClient = createClient;
    this.#options = options;
  }

  send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (this.#options.transactionalId === undefined) return this.#send(topic, records);
    const sending = this.#previousSend.then(() => this.#send(topic, records));
    this.#previousSend = sending.catch(() => undefined);
    return sending;
  }

  async #send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (this.#closed) throw new McpwatchError('CLOSED', 'The Kafka producer is closed.');
    if (this.#fenced !== undefined) throw this.#fenced;
    if (records.length === 0) return;
    await this.#assertPartitionsExist(topic, records);
    const session = this.#currentSession();
    session.inFlight++;
    try {
      await session.connected;
      if (this.#options.transactionalId === undefined) {
        for (const chunk of requestSized(records)) await session.client.send(this.#request(topic, chunk));
      } else {
        await this.#sendTransaction(session.client, topic, records);
      }
    } catch (error) {
      this.#retire(session);
      const { transactionalId } = this.#options;
      if (transactionalId !== undefined && isFenced(error)) {
        this.#fenced = new McpwatchError(
          'TRANSPORT_FAILED',
          `Kafka producer fenced: another producer took transactional id ${transactionalId} (or the broker timed out a transaction of this one); it sends no more.`,
          { cause: error, retriable: false },
        );
        throw this.#fenced;
      }
      throw transportError(`send to ${topic}`, error);
    } finally {
      session.inFlight--;
      if (session.retired && session.inFlight === 0) this.#disconnect(session);
    }
  }

  async #sendTransaction(client: KafkaProducerClient, topic: string, records: readonly OutgoingRecord[]) {
    const transaction = await client.transaction();
    /** The base offset of the last request to each partition written. */
    const lastBaseOffsets = new Map<number, bigint>();
    try {
      for (const chunk of requestSized(records)) {
        for (const { partition, baseOffset } of await transaction.send(this.#request(topic, chunk))) {
          if (baseOffset !== undefined) lastBaseOffsets.set(partition, BigInt(baseOffset));
        }
      }
      await transaction.commit();
    } catch (error) {
      // Best effort: the session is retired either way, and its successor's InitProducerId aborts what is left.
      if (transaction.isActive()) await transaction.abort().catch(() => undefined);
      throw error;
    }
    await this.#options.awaitReadable(topic, lastBaseOffsets);
  }

  /** Refuses the whole send when a record names a partition the topic does not have (re-read once, it may have grown). */
  async #assertPartitionsExist(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    let highest: number | undefined;
    for (const { partition } of records) {
      if (partition === undefined) continue;
      if (!Number.isInteger(partition) || partition < 0)
        throw new McpwatchError('TRANSPORT_FAILED', `Kafka topic ${topic} has no partition ${String(partition)}`);
      highest = Math.max(highest ?? 0, partition);
    }
    if (highest === undefined || highest < (this.#partitions.get(topic) ?? 0)) return;
    const count = await this.#options.partitionCount(topic);
    this.#partitions.set(topic, count);
    if (highest >= count)
      throw new McpwatchError('TRANSPORT_FAILED', `Kafka topic ${topic} has no partition ${highest} (it has ${count})`);
  }

  #request(topic: string, records: readonly OutgoingRecord[]) {
    return {
      topic,
      acks: -1,
      timeout: this.#options.ackTimeoutMs,
      messages: records.map((record): Message => ({
        key: record.key,
        value: record.value,
        headers: record.headers ?? {},
        ...(record.partition === undefined ? {} : { partition: record.partition }),
      })),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.onClose();
    const session = this.#session;
    this.#session = undefined;
    await Promise.all(this.#retiring);
    if (session === undefined) return;
    try {
      await session.connected.catch(() => undefined);
      await session.client.disconnect();
    } catch (error) {
      throw transportError('producer close', error);
    }
  }

  #currentSession(): Session {
    if (this.#session === undefined) {
      const client = this.#createClient();
      this.#session = { client, connected: this.#options.connect(client), inFlight: 0, retired: false };
    }
    return this.#session;
  }

  /** The next send starts a new session; this one is disconnected once its other sends have ended. */
  #retire(session: Session): void {
    if (session.retired) return;
    session.retired = true;
    if (this.#session === session) this.#session = undefined;
  }

  #disconnect(session: Session): void {
    const retiring = session.connected
      .catch(() => undefined)
      .then(() => session.client.disconnect())
      .catch(() => undefined) // a producer that failed is let go whatever its state
      .finally(() => this.#retiring.delete(retiring));
    this.#retiring.add(retiring);
  }
}

/** Consecutive runs of `records` of at most `REQUEST_BYTES` each (a larger record is a run of its own). */
function* requestSized(records: readonly OutgoingRecord[]): Generator<readonly OutgoingRecord[]> {
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < records.length; index++) {
    const size = recordBytes(records[index]!);
    if (index > start && bytes + size > REQUEST_BYTES) {
      yield records.slice(start, index);
      start = index;
      bytes = 0;
    }
    bytes += size;
  }
  yield start === 0 ? records : records.slice(start);
}

function recordBytes(record: OutgoingRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(record.key) + byteLength(record.value);
  for (const [name, value] of Object.entries(record.headers ?? {})) bytes += byteLength(name) + byteLength(value);
  return bytes;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
