/** kafkajs messages as the seam's `IncomingRecord`. */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { Headers, IncomingRecord } from '../types.ts';

function headersOf(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    // A repeated header arrives as an array; the last one wins, as Kafka's `lastHeader` reads it.
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

export function incomingRecord(topic: string, partition: number, message: KafkaMessage): IncomingRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value ?? Buffer.alloc(0),
    headers: headersOf(message.headers),
    timestamp: Number(message.timestamp),
  };
}
