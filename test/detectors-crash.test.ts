import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { alertIdOf } from '../detectors/engine.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { callEvent, sessionTwoPrincipals } from './detectors-test-rule.ts';
import {
  DetectorsWorker,
  produceEvents,
  readAlertsFile,
  waitForAlerts,
  type WorkerSetup,
} from './detectors-support.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { waitFor } from './support/wait-for.ts';

const ruleId = sessionTwoPrincipals.meta.id;
const idOf = (session: string): string => alertIdOf(ruleId, 1, session);

void describe('detectors runtime on the real broker, in child processes', () => {
  let transport: KafkaTransport;
  let dir: string;
  const workers: DetectorsWorker[] = [];

  before(async () => {
    transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'detectors-crash-test' });
    dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-detectors-'));
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(name: string, partitions: number): Promise<WorkerSetup> {
    const topics = {
      events: uniqueTopic(`${name}.events`),
      detectorState: uniqueTopic(`${name}.state`),
      eventsDeadLetter: uniqueTopic(`${name}.dlq`),
      alerts: uniqueTopic(`${name}.alerts`),
    };
    await transport.ensureTopics([
      { topic: topics.events, partitions },
      { topic: topics.alerts, partitions: 1 },
    ]);
    return {
      brokers: kafkaBrokers(),
      topics,
      groupId: uniqueTopic(`${name}.group`),
      alertsFile: path.join(dir, `${name}.jsonl`),
    };
  }

  function worker(config: WorkerSetup): DetectorsWorker {
    const started = new DetectorsWorker(config);
    workers.push(started);
    return started;
  }

  const assigned = (line: { msg: string }): boolean => line.msg === 'Partitions assigned; state restored.';

  void test('a two-event rule fires although the process was SIGKILLed between the two events', async () => {
    const config = await setup('sigkill', 2);
    const first = worker(config);
    await first.waitForLine(assigned);
    await produceEvents(transport, config.topics.events, [callEvent('e1', 0, 's1', 'alice')]);
    await first.waitForLine((line) => line.msg === 'Batch committed.');
    await first.kill();

    const second = worker(config);
    await second.waitForLine(assigned);
    await produceEvents(transport, config.topics.events, [callEvent('e2', 1, 's1', 'bob')]);
    const alerts = await waitForAlerts(transport, config.topics.alerts, 1);
    assert.deepEqual(
      alerts.map((alert) => alert.alertId),
      [idOf('s1')],
    );
    assert.deepEqual(alerts[0]!.evidence, { principals: ['alice', 'bob'] });
    await second.waitForLine((line) => line.msg === 'Batch committed.' && line.alerts === 1);
    assert.deepEqual(
      (await readAlertsFile(config.alertsFile)).map((alert) => alert.alertId),
      [idOf('s1')],
    );
    await second.stop();
  });

  void test('state follows a partition to a second instance that joins the group', async () => {
    const config = await setup('rebalance', 2);
    const sessions = ['s1', 's2', 's3', 's4', 's5', 's6'];
    const first = worker(config);
    await first.waitForLine(assigned);
    await produceEvents(
      transport,
      config.topics.events,
      sessions.map((session, index) => callEvent(`a-${session}`, index, session, 'alice')),
    );
    await first.waitForLine(() => first.committedRecords() === sessions.length);
    const withState = new Set(
      first.lines.filter((line) => line.msg === 'Batch committed.').map((line) => line.partition!),
    );
    assert.equal(withState.size, 2, 'the sessions should cover both partitions');

    const second = worker(config);
    await second.waitForLine((line) => assigned(line) && (line.partitions ?? []).length > 0);
    const moved = [...second.ownedPartitions()];
    assert.ok(moved.length > 0 && moved.every((p) => withState.has(p)), 'a partition holding state moved');
    await first.waitForLine(() => first.ownedPartitions().size === 2 - moved.length);

    await produceEvents(
      transport,
      config.topics.events,
      sessions.map((session, index) => callEvent(`b-${session}`, 10 + index, session, 'bob')),
    );
    const alerts = await waitForAlerts(transport, config.topics.alerts, sessions.length);
    assert.deepEqual([...new Set(alerts.map((alert) => alert.alertId))].sort(), sessions.map(idOf).sort());
    assert.ok(
      second.lines.some((line) => line.msg === 'Batch committed.' && Number(line.alerts) > 0),
      'the new owner raised alerts',
    );
    await Promise.all([first.stop(), second.stop()]);
  });

  void test('killed mid-stream again and again: every alert arrives, repeats carry the same id', async () => {
    const config = await setup('chaos', 2);
    const sessions = Array.from({ length: 24 }, (_, index) => `k${index}`);
    // Each session: alice, then bob (the alert), then alice again; spread over rounds so kills split pairs.
    const events = sessions.flatMap((session, index) => [
      callEvent(`${session}-1`, index, session, 'alice'),
      callEvent(`${session}-2`, 100 + index, session, 'bob'),
      callEvent(`${session}-3`, 200 + index, session, 'alice'),
    ]);
    const rounds = 3;
    const chunk = Math.ceil(events.length / rounds);
    for (let round = 0; round < rounds; round += 1) {
      const victim = worker(config);
      await victim.waitForLine(assigned);
      await produceEvents(transport, config.topics.events, events.slice(round * chunk, (round + 1) * chunk));
      // Kill at a different point each round: at once, once something was committed, a little later.
      if (round === 1) await victim.waitForLine((line) => line.msg === 'Batch committed.');
      if (round === 2) await new Promise((resolve) => setTimeout(resolve, 150));
      await victim.kill();
    }
    const survivor = worker(config);
    await survivor.waitForLine(assigned);
    const alerts = await waitForAlerts(transport, config.topics.alerts, sessions.length, 45_000);
    const expected = sessions.map(idOf).sort();
    assert.deepEqual([...new Set(alerts.map((alert) => alert.alertId))].sort(), expected);
    const byId = new Map<string, (typeof alerts)[number]>();
    for (const alert of alerts) {
      const earlier = byId.get(alert.alertId);
      if (earlier !== undefined) assert.deepEqual(alert, earlier, 'a repeated alert is the same alert');
      byId.set(alert.alertId, alert);
    }
    // The file sink confirms each batch before its offsets are committed, by whichever worker owned it; the
    // survivor may have found nothing left to do, so wait for the file's content rather than for a commit.
    const fileIds = async (): Promise<string[]> =>
      [...new Set((await readAlertsFile(config.alertsFile)).map((alert) => alert.alertId))].sort();
    await waitFor(
      `the file sink to hold ${expected.length} alerts`,
      async () => (await fileIds()).length >= expected.length,
      30_000,
      200,
    );
    await survivor.stop();
    assert.deepEqual(await fileIds(), expected);
  });
});
