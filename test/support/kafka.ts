/**
 * What Kafka integration tests share. `test/run.ts` starts one real broker for the whole run and passes its
 * address in KAFKA_BROKERS; a test that needs Kafka and finds none fails loudly, it never skips.
 */
import { randomUUID } from 'node:crypto';

export function kafkaBrokers(): string[] {
  const brokers = process.env.KAFKA_BROKERS?.split(',').filter((broker) => broker !== '') ?? [];
  if (brokers.length === 0) {
    throw new Error(
      'KAFKA_BROKERS is not set: Kafka tests need the real broker that `npm test` starts (tsx test/run.ts). ' +
        'Run them through it, or start one with `npm run kafka` and export the address it prints.',
    );
  }
  return brokers;
}

/** A topic name no other test uses, so tests can run side by side on one broker. */
export function uniqueTopic(prefix: string): string {
  return `test.${prefix}.${randomUUID().slice(0, 8)}`;
}
