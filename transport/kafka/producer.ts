/** The seam's `Producer` over a kafkajs producer: acks from all in-sync replicas, errors as `TRANSPORT_FAILED`. */
import type { Producer as KafkaProducerClient } from 'kafkajs';
import { McpwatchError } from '../../contracts/errors.ts';
import type { OutgoingRecord, Producer } from '../types.ts';
import { transportError } from './errors.ts';

export class KafkaProducer implements Producer {
  readonly #client: KafkaProducerClient;
  readonly #ackTimeoutMs: number;
  readonly #onClose: () => void;
  #closed = false;

  constructor(client: KafkaProducerClient, ackTimeoutMs: number, onClose: () => void) {
    this.#client = client;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#onClose = onClose;
  }

  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (this.#closed) throw new McpwatchError('CLOSED', 'The Kafka producer is closed.');
    if (records.length === 0) return;
    try {
      await this.#client.send({
        topic,
        acks: -1,
        timeout: this.#ackTimeoutMs,
        messages: records.map((record) => ({
          key: record.key,
          value: record.value,
          headers: record.headers ?? {},
          ...(record.partition === undefined ? {} : { partition: record.partition }),
        })),
      });
    } catch (error) {
      throw transportError(`send to ${topic}`, error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    try {
      await this.#client.disconnect();
    } catch (error) {
      throw transportError('producer close', error);
    }
  }
}
