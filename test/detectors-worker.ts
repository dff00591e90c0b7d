/**
 * A detectors process for the crash tests: `node --import tsx test/detectors-worker.ts`, configured by
 * environment (KAFKA_BROKERS, DETECTORS_TEST_TOPICS as JSON, DETECTORS_TEST_GROUP, DETECTORS_TEST_ALERTS_FILE, and
 * DETECTORS_TEST_CATALOG=fixtures for the whole rule catalog in the fixtures' deployment instead of the test rule,
 * DETECTORS_TEST_ENGINE as JSON for engine tuning other than no allowed lateness).
 * Logs pino JSON lines (debug and up) on stdout for the test to follow; SIGTERM closes it cleanly.
 */
import { pino } from 'pino';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { startDetectors } from '../detectors/runtime.ts';
import { createSinks } from '../detectors/sinks/index.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { kafkaBrokers } from './support/kafka.ts';
import { RULES } from '../detectors/rules/index.ts';
import { fixtureDeployment } from './detectors-support.ts';
import { testRules } from './detectors-test-rule.ts';

const topics = JSON.parse(process.env.DETECTORS_TEST_TOPICS ?? '{}') as {
  events: string;
  detectorState: string;
  eventsDeadLetter: string;
  alerts: string;
  repartitionPrefix?: string;
};
const fullCatalog = process.env.DETECTORS_TEST_CATALOG === 'fixtures';
const log = pino({ name: 'detectors-worker', level: 'debug' });
const transport = new KafkaTransport(
  {
    brokers: kafkaBrokers(),
    clientId: 'detectors-worker',
    // The broker's minimum: a SIGKILLed member leaves the group after this long.
    consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000, maxWaitTimeMs: 100 },
  },
  { logger: log },
);
const config = parseDetectorsConfig(
  {
    groupId: process.env.DETECTORS_TEST_GROUP,
    engine: JSON.parse(process.env.DETECTORS_TEST_ENGINE ?? '{"allowedLatenessMs":0}') as unknown,
    ...(fullCatalog ? fixtureDeployment() : {}),
    sinks: [
      { type: 'kafka', topic: topics.alerts },
      { type: 'file', path: process.env.DETECTORS_TEST_ALERTS_FILE },
    ],
  },
  fullCatalog ? RULES : testRules,
);
const runtime = await startDetectors({
  transport,
  config,
  sinks: createSinks(config.sinks, { transport }),
  logger: log,
  topics,
});
process.once('SIGTERM', () => {
  void runtime
    .close()
    .then(() => transport.close())
    .then(() => process.exit(0));
});
await runtime.done.catch((error: unknown) => {
  log.fatal({ err: error }, 'Worker stopped.');
  process.exit(1);
});
