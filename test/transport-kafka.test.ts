/** The transport contract on the real Kafka broker of the test run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMcpwatchError } from '../errors.ts';
import { createTransport } from '../transport/index.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { describeTransportContract } from '../transport/transport.contract.ts';
import { kafkaBrokers } from './support/kafka.ts';

describeTransportContract('kafka', () =>
  createTransport({
    kind: 'kafka',
    kafka: {
      brokers: kafkaBrokers(),
      clientId: 'mcpwatch-transport-test',
      // Quick rebalances: members notice a join or leave within a few heartbeats (6 s is the broker's minimum).
      consumer: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 10_000, maxWaitTimeMs: 100 },
    },
  }),
);

void describe('kafka transport options', () => {
  void it('are validated once, and the error names the bad option', () => {
    assert.throws(
      () => new KafkaTransport({ brokers: ['127.0.0.1:9'], consumer: { sessionTimeoutMs: -1 } }),
      (error: unknown) =>
        isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('kafka.consumer.sessionTimeoutMs'),
    );
    assert.throws(
      () => new KafkaTransport({ brokers: ['no-port'] }),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('kafka.brokers[0]'),
    );
    assert.throws(
      () => new KafkaTransport({ brokers: ['127.0.0.1:9'], sasl: { mechanism: 'gssapi' } } as never),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('kafka.sasl'),
    );
    assert.throws(
      () => new KafkaTransport({ brokers: ['127.0.0.1:9'], linger: 5 } as never),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('linger'),
    );
  });

  void it('turn an unreachable broker into a TRANSPORT_FAILED error', async () => {
    const transport = new KafkaTransport({
      brokers: ['127.0.0.1:9'],
      connectionTimeoutMs: 200,
      retry: { retries: 1, initialRetryTimeMs: 50, maxRetryTimeMs: 100 },
    });
    await assert.rejects(transport.producer(), (error: unknown) => isMcpwatchError(error, 'TRANSPORT_FAILED'));
    await transport.close();
  });
});
