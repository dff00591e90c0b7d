import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import {
  ENCODED_IN_ONE_BUFFER,
  encodeProduceRequest,
  encodesInOneBuffer,
  installProduceEncoding,
  type ProduceRequestData,
} from './produce-encoding.ts';

const require = createRequire(import.meta.url);
type Encoded = Promise<{ buffer: Buffer }>;
const kafkajsRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (data: ProduceRequestData) => {
  encode: () => Encoded;
};
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromValue: (value: number) => unknown };
const produce = require('kafkajs/src/protocol/requests/produce/index.js') as {
  protocol: (options: { version: number }) => (data: ProduceRequestData) => { request: { encode: () => Encoded } };
};

const NOW = 1_767_225_600_123;

/** kafkajs's own bytes for `data`, its clock stopped at `NOW`. */
async function kafkajsBytes(data: ProduceRequestData): Promise<Buffer> {
  const now = Date.now;
  Date.now = () => NOW;
  try {
    return (await kafkajsRequest(data).encode()).buffer;
  } finally {
    Date.now = now;
  }
}

const own = <T extends object>(message: T) => ({ ...message, [ENCODED_IN_ONE_BUFFER]: true as const });

function requestOf(overrides: Partial<ProduceRequestData> = {}): ProduceRequestData {
  const large = Buffer.alloc(20_000, 'v');
  return {
    acks: -1,
    timeout: 30_000,
    compression: 0,
    transactionalId: null,
    producerId: Long.fromValue(4_294_967_301),
    producerEpoch: 3,
    topicData: [
      {
        topic: 'mcpwatch.detector-state.v1',
        partitions: [
          {
            partition: 2,
            firstSequence: 41,
            // Over 64 records, so offset deltas take two varint bytes; keys and values null, text, bytes, Unicode.
            messages: Array.from({ length: 70 }, (_, index) =>
              own({
                key: index === 0 ? null : `server/2/state/rule/ключ-${index}`,
                value: index === 1 ? '' : index % 2 === 0 ? Buffer.from(`{"n":${index}}`) : `{"é":${index}}`,
                headers: index % 3 === 0 ? {} : { 'mcpwatch-origin': `1/${index}`, 'ü-name': Buffer.from('x') },
              }),
            ),
          },
          { partition: 0, messages: [own({ key: 'k', value: large, headers: {} }), own({ key: 'k2', value: null })] },
        ],
      },
      { topic: 'mcpwatch.repartition.server.v1', partitions: [{ partition: 1, messages: [own({ value: 'v' })] }] },
    ],
    ...overrides,
  };
}

void describe('produce requests encoded in one buffer', () => {
  void test('are the bytes kafkajs writes, idempotent or transactional', async () => {
    for (const data of [
      requestOf(),
      requestOf({ transactionalId: 'mcpwatch-detectors.state.pod-0' }),
      requestOf({ producerId: undefined, producerEpoch: undefined }),
    ]) {
      assert.ok(encodesInOneBuffer(data));
      assert.deepEqual(encodeProduceRequest(data, NOW, crc32C), await kafkajsBytes(data));
    }
  });

  void test('only for KafkaProducer messages kafkajs would encode the same way; the rest stays kafkajs’s', async () => {
    const plain = requestOf();
    plain.topicData[1]!.partitions[0]!.messages = [{ value: 'from a plain kafkajs producer' }];
    const compressed = requestOf({ compression: 1 });
    const stamped = requestOf();
    stamped.topicData[1]!.partitions[0]!.messages = [own({ value: 'v', timestamp: '1' })];
    const withArrayHeader = requestOf();
    withArrayHeader.topicData[1]!.partitions[0]!.messages = [own({ value: 'v', headers: { a: ['1', '2'] } })];
    for (const data of [plain, compressed, stamped, withArrayHeader]) assert.equal(encodesInOneBuffer(data), false);

    installProduceEncoding();
    const now = Date.now;
    Date.now = () => NOW;
    try {
      const viaKafkajs = (data: ProduceRequestData) => produce.protocol({ version: 7 })(data).request.encode();
      assert.deepEqual((await viaKafkajs(requestOf())).buffer, await kafkajsBytes(requestOf()));
      assert.deepEqual((await viaKafkajs(plain)).buffer, await kafkajsBytes(plain));
    } finally {
      Date.now = now;
    }
  });
});
