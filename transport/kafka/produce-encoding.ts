/**
 * kafkajs 2.2.4 (unmaintained) encodes each record of a produce request with an encoder of its own (a zeroed
 * 512-byte buffer), each header with another, every varint through a new `Buffer` and every varlong through
 * BigInt arithmetic, then copies the records together: most of the CPU a send of small records costs. Its
 * produce request definition is wrapped, once per process, so that a request of `KafkaProducer` messages
 * (marked `ENCODED_IN_ONE_BUFFER`; uncompressed, no timestamps of their own) is encoded into one buffer, with
 * the bytes kafkajs would write (`produce-encoding.test.ts` compares them). Other requests, such as those of
 * plain kafkajs producers in the same process, stay kafkajs's own. kafkajs looks the definition up for every
 * request, so the wrapper holds whichever module loaded kafkajs first.
 */
import { createRequire } from 'node:module';

/** Marks a message whose request may be encoded here (`KafkaProducer` sets it; the messages are its own objects). */
export const ENCODED_IN_ONE_BUFFER = Symbol('mcpwatch.encodedInOneBuffer');

/** A message as kafkajs's `sendMessages` hands it to the request, after grouping by partition. */
interface ProduceMessage {
  [ENCODED_IN_ONE_BUFFER]?: true;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, unknown>;
  timestamp?: unknown;
}

export interface ProduceRequestData {
  acks: number;
  timeout: number;
  compression?: number;
  transactionalId?: string | null;
  /** kafkajs's `Long` (a BigInt in `value`) or a number. */
  producerId?: unknown;
  producerEpoch?: number | undefined;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[];
  }[];
}

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
}

type ProduceVersion = (data: ProduceRequestData) => { request: { encode: () => Promise<KafkajsEncoder> } };

/** Produce versions 3 to 7 share one request layout (record batches of magic 2); kafkajs implements up to 7. */
const FIRST_RECORD_BATCH_VERSION = 3;
const TRANSACTIONAL_ATTRIBUTE = 16;
const MAGIC = 2;
/** Before a record batch's attributes: record set size, base offset, batch length, partition leader epoch, magic, CRC. */
const RECORD_SET_HEADER_BYTES = 4 + 8 + 4 + 4 + 1 + 4;
/** Of a record batch after the CRC: attributes, last offset delta, first and max timestamps, producer id, epoch, first sequence, record count. */
const BATCH_BODY_HEADER_BYTES = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

let installed = false;

export function installProduceEncoding(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const produce = require('kafkajs/src/protocol/requests/produce/index.js') as {
    protocol: (options: { version: number }) => ProduceVersion;
  };
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize: number) => KafkajsEncoder;
  const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
  const kafkajsProtocol = produce.protocol;
  produce.protocol = ({ version }) => {
    const kafkajsVersion = kafkajsProtocol({ version });
    if (version < FIRST_RECORD_BATCH_VERSION) return kafkajsVersion;
    return (data) => {
      const built = kafkajsVersion(data);
      if (!encodesInOneBuffer(data)) return built;
      built.request.encode = () => {
        const encoder = new Encoder(0);
        encoder.buf = encodeProduceRequest(data, Date.now(), crc32C);
        encoder.offset = encoder.buf.length;
        return Promise.resolve(encoder);
      };
      return built;
    };
  };
}

/**
 * Whether every message is marked and `encodeProduceRequest` writes what kafkajs would: no compression, no
 * message timestamps, keys, values and header values strings or bytes.
 */
export function encodesInOneBuffer(data: ProduceRequestData): boolean {
  if ((data.compression ?? 0) !== 0) return false;
  for (const { partitions } of data.topicData) {
    for (const { messages } of partitions) {
      if (messages.length === 0) return false;
      for (const message of messages) {
        if (message[ENCODED_IN_ONE_BUFFER] !== true || message.timestamp != null) return false;
        if (!isBytes(message.key, true) || !isBytes(message.value, true)) return false;
        for (const name in message.headers) if (!isBytes(message.headers[name], false)) return false;
      }
    }
  }
  return true;
}

function isBytes(value: unknown, nullable: boolean): boolean {
  return typeof value === 'string' || Buffer.isBuffer(value) || (nullable && value == null);
}

/**
 * The produce request body (after the request header) as kafkajs encodes it, every record's timestamp `now`.
 * `crc32C` is kafkajs's, over each batch from its attributes on.
 */
export function encodeProduceRequest(
  data: ProduceRequestData,
  now: number,
  crc32C: (buffer: Buffer) => number,
): Buffer {
  // Per record, in the order written: its size after the length prefix, key and value byte lengths, header
  // count, then each header's name and value byte lengths. Measured once, written from.
  const sizes: number[] = [];
  let size = stringBytes(data.transactionalId) + 2 + 4 + 4;
  for (const { topic, partitions } of data.topicData) {
    size += stringBytes(topic) + 4;
    for (const { messages } of partitions) {
      size += 4 + RECORD_SET_HEADER_BYTES + BATCH_BODY_HEADER_BYTES;
      for (let index = 0; index < messages.length; index++) {
        const record = measureRecord(messages[index]!, index, sizes);
        size += varIntBytes(record) + record;
      }
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = writeString(out, 0, data.transactionalId);
  at = out.writeInt16BE(data.acks, at);
  at = out.writeInt32BE(data.timeout, at);
  at = out.writeInt32BE(data.topicData.length, at);
  const producerId = longOf(data.producerId);
  let next = 0; // into `sizes`
  for (const { topic, partitions } of data.topicData) {
    at = writeString(out, at, topic);
    at = out.writeInt32BE(partitions.length, at);
    for (const { partition, firstSequence, messages } of partitions) {
      at = out.writeInt32BE(partition, at);
      const recordSetAt = at;
      const bodyAt = recordSetAt + RECORD_SET_HEADER_BYTES;
      at = out.writeInt16BE(data.transactionalId == null ? 0 : TRANSACTIONAL_ATTRIBUTE, bodyAt);
      at = out.writeInt32BE(messages.length - 1, at);
      at = out.writeBigInt64BE(BigInt(now), at);
      at = out.writeBigInt64BE(BigInt(now), at);
      at = out.writeBigInt64BE(producerId, at);
      at = out.writeInt16BE(data.producerEpoch ?? 0, at);
      at = out.writeInt32BE(firstSequence ?? 0, at);
      at = out.writeInt32BE(messages.length, at);
      for (let index = 0; index < messages.length; index++) {
        const { key, value, headers } = messages[index]!;
        at = writeVarInt(out, at, sizes[next++]!);
        out[at++] = 0; // attributes
        out[at++] = 0; // timestamp delta (a zigzag varlong): every record is stamped `now`
        at = writeVarInt(out, at, index);
        at = writeBytes(out, at, key, sizes[next++]!);
        at = writeBytes(out, at, value, sizes[next++]!);
        at = writeVarInt(out, at, sizes[next++]!);
        for (const name in headers) {
          at = writeBytes(out, at, name, sizes[next++]!);
          at = writeBytes(out, at, headers[name] as Buffer | string, sizes[next++]!);
        }
      }
      // Record set size, base offset 0, batch length, partition leader epoch 0, magic, CRC of the body.
      const batchBytes = 4 + 1 + 4 + (at - bodyAt);
      let header = out.writeInt32BE(8 + 4 + batchBytes, recordSetAt);
      header = out.writeBigInt64BE(0n, header);
      header = out.writeInt32BE(batchBytes, header);
      header = out.writeInt32BE(0, header);
      header = out.writeInt8(MAGIC, header);
      out.writeUInt32BE(crc32C(out.subarray(bodyAt, at)), header);
    }
  }
  return out;
}

/** A record's size after its length prefix; pushes it and the byte lengths `encodeProduceRequest` writes onto `sizes`. */
function measureRecord(message: ProduceMessage, offsetDelta: number, sizes: number[]): number {
  const at = sizes.length;
  const keyBytes = bytesOf(message.key);
  const valueBytes = bytesOf(message.value);
  sizes.push(0, keyBytes, valueBytes, 0);
  let size = 1 + 1 + varIntBytes(offsetDelta) + prefixedBytes(keyBytes) + prefixedBytes(valueBytes);
  let headers = 0;
  for (const name in message.headers) {
    const nameBytes = Buffer.byteLength(name);
    const headerValueBytes = bytesOf(message.headers[name] as Buffer | string);
    sizes.push(nameBytes, headerValueBytes);
    size += prefixedBytes(nameBytes) + prefixedBytes(headerValueBytes);
    headers++;
  }
  size += varIntBytes(headers);
  sizes[at] = size;
  sizes[at + 3] = headers;
  return size;
}

/** -1 for null. */
function bytesOf(value: Buffer | string | null | undefined): number {
  if (value == null) return -1;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** A varint length prefix and the bytes after it (-1: null, no bytes). */
function prefixedBytes(length: number): number {
  return varIntBytes(length) + Math.max(0, length);
}

function varIntBytes(value: number): number {
  let encoded = (value << 1) ^ (value >> 31);
  let bytes = 1;
  while ((encoded & 0xffffff80) !== 0) {
    bytes++;
    encoded >>>= 7;
  }
  return bytes;
}

function writeVarInt(out: Buffer, at: number, value: number): number {
  let encoded = (value << 1) ^ (value >> 31);
  while ((encoded & 0xffffff80) !== 0) {
    out[at++] = (encoded & 0x7f) | 0x80;
    encoded >>>= 7;
  }
  out[at++] = encoded & 0x7f;
  return at;
}

function writeBytes(out: Buffer, at: number, value: Buffer | string | null | undefined, length: number): number {
  at = writeVarInt(out, at, length);
  if (value == null) return at;
  return typeof value === 'string' ? at + out.write(value, at, length, 'utf8') : at + value.copy(out, at);
}

function stringBytes(value: string | null | undefined): number {
  return 2 + (value == null ? 0 : Buffer.byteLength(value));
}

function writeString(out: Buffer, at: number, value: string | null | undefined): number {
  if (value == null) return out.writeInt16BE(-1, at);
  const length = Buffer.byteLength(value);
  at = out.writeInt16BE(length, at);
  return at + out.write(value, at, length, 'utf8');
}

function longOf(value: unknown): bigint {
  if (typeof value === 'object' && value !== null && typeof (value as { value?: unknown }).value === 'bigint')
    return (value as { value: bigint }).value;
  return value === undefined || value === null ? -1n : BigInt(value as number | string);
}
