/**
 * The floor under every Kafka number mcpwatch reports: raw kafkajs against the real broker, 1 KiB records,
 * no mcpwatch code. Produce uses the settings the pipeline uses (acks=all, idempotent); consume reads a
 * pre-filled topic with a fresh consumer group per run, timed from the group join to the last record.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { measure, printTable, type BenchContext } from './harness.ts';

const recordsPerRun = 10_000;
const recordBytes = 1024;
const runs = 5;
const partitions = 3;
/** A run that has not finished by then is a broken bench, not a slow one. */
const runTimeoutMs = 60_000;

/** Keys spread over sessions as the collector's are; the value is opaque bytes of the record size. */
const records = Array.from({ length: recordsPerRun }, (_, index) => ({
  key: `session-${index % 64}`,
  value: randomBytes(recordBytes),
}));

export default async function kafkaBaseline({ brokers }: BenchContext): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-kafka-baseline', brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const topics: string[] = [];
  const createTopic = async (): Promise<string> => {
    const topic = `bench.kafka-baseline.${randomUUID().slice(0, 8)}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    topics.push(topic);
    return topic;
  };

  try {
    const produceRow = (name: string, batchSize: number, guarantees: { acks: number; idempotent: boolean }) =>
      measure({
        name,
        runs,
        setup: async () => {
          const producer = kafka.producer({
            idempotent: guarantees.idempotent,
            createPartitioner: Partitioners.DefaultPartitioner,
          });
          await producer.connect();
          return { producer, topic: await createTopic() };
        },
        run: async ({ producer, topic }) => ({ units: await produceAll(producer, topic, batchSize, guarantees.acks) }),
        teardown: ({ producer }) => producer.disconnect(),
      });
    const produceRows = [
      await produceRow('acks=all, idempotent, 1000/send', 1000, { acks: -1, idempotent: true }),
      await produceRow('acks=all, idempotent, 100/send', 100, { acks: -1, idempotent: true }),
      await produceRow('acks=1, not idempotent, 1000/send', 1000, { acks: 1, idempotent: false }),
    ];
    printTable(
      `kafkajs produce, ${recordsPerRun.toLocaleString('en-US')} × 1 KiB records, ${partitions} partitions`,
      produceRows,
      {
        baseline: 'acks=all, idempotent, 1000/send',
        unit: 'records/s',
      },
    );

    const filled = await createTopic();
    const filler = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await filler.connect();
    await produceAll(filler, filled, 1000, -1);
    await filler.disconnect();
    const consumeRow = (name: string, mode: 'eachBatch' | 'eachMessage') =>
      measure({ name, runs, run: () => drain(kafka, filled, mode) });
    const consumeRows = [await consumeRow('eachBatch', 'eachBatch'), await consumeRow('eachMessage', 'eachMessage')];
    printTable(
      `kafkajs consume, ${recordsPerRun.toLocaleString('en-US')} × 1 KiB records, fresh group, from group join to last record`,
      consumeRows,
      { baseline: 'eachBatch', unit: 'records/s' },
    );
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function produceAll(producer: Producer, topic: string, batchSize: number, acks: number): Promise<number> {
  let sent = 0;
  for (let start = 0; start < records.length; start += batchSize) {
    const batch = records.slice(start, start + batchSize);
    await producer.send({ topic, acks, messages: batch });
    sent += batch.length;
  }
  return sent;
}

async function drain(
  kafka: Kafka,
  topic: string,
  mode: 'eachBatch' | 'eachMessage',
): Promise<{ units: number; timedMs: number }> {
  const consumer = kafka.consumer({ groupId: `bench.kafka-baseline.${randomUUID().slice(0, 8)}` });
  let joinedAt: number | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ??= performance.now()));
  await consumer.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let received = 0;
    const finishedAt = await new Promise<number>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`drained ${received} of ${recordsPerRun} records in ${runTimeoutMs} ms`)),
        runTimeoutMs,
      );
      const seen = (count: number) => {
        received += count;
        if (received >= recordsPerRun) resolve(performance.now());
        return Promise.resolve();
      };
      const handlers =
        mode === 'eachBatch'
          ? { eachBatch: ({ batch }: { batch: { messages: unknown[] } }) => seen(batch.messages.length) }
          : { eachMessage: () => seen(1) };
      consumer.run(handlers).catch(reject);
    });
    if (joinedAt === undefined) throw new Error('records arrived before the group join event');
    return { units: received, timedMs: finishedAt - joinedAt };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
