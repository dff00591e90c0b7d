/**
 * One detectors instance for `detectors-scale.bench.ts`: the whole catalog, a file sink, configured by
 * environment (KAFKA_BROKERS, BENCH_TOPICS as JSON, BENCH_GROUP, BENCH_ALERTS_FILE, BENCH_ENGINE as JSON for the
 * `engine` section). SIGTERM closes it.
 */
import { pino } from 'pino';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { RULES } from '../detectors/rules/index.ts';
import { startDetectors } from '../detectors/runtime.ts';
import { FileSink } from '../detectors/sinks/file.ts';
import { KafkaTransport } from '../transport/kafka.ts';

const topics = JSON.parse(process.env.BENCH_TOPICS ?? '{}') as {
  events: string;
  detectorState: string;
  eventsDeadLetter: string;
};
const log = pino({ level: 'warn' }, pino.destination(2));
const transport = new KafkaTransport(
  {
    brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
    clientId: 'bench-detectors-instance',
    consumer: { heartbeatIntervalMs: 500, maxWaitTimeMs: 50 },
  },
  { logger: log },
);
const config = parseDetectorsConfig(
  { groupId: process.env.BENCH_GROUP, engine: JSON.parse(process.env.BENCH_ENGINE ?? '{}') as unknown },
  RULES,
);
const runtime = await startDetectors({
  transport,
  config,
  sinks: [new FileSink(process.env.BENCH_ALERTS_FILE ?? '/dev/null')],
  logger: log,
  topics,
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void runtime
    .close()
    .then(() => transport.close())
    .then(() => process.exit(0));
});
await runtime.done.catch((error: unknown) => {
  log.fatal({ err: error }, 'Bench instance stopped.');
  process.exit(1);
});
