import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseAlert } from '../contracts/parse.ts';
import { runDemo } from '../demo/run.ts';
import { kafkaBrokers } from './support/kafka.ts';

test('the demo catches every attack end to end and stays quiet on benign work', { timeout: 300_000 }, () =>
  demoCatchesEveryAttack(undefined),
);

test(
  'with Kafka, the collector and detectors run as separate processes with the same result',
  { timeout: 300_000 },
  () => demoCatchesEveryAttack(kafkaBrokers()),
);

async function demoCatchesEveryAttack(brokers: string[] | undefined): Promise<void> {
  let screen = '';
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      screen += chunk.toString('utf8');
      done();
    },
  });
  const result = await runDemo({
    dashboardPort: 0,
    keepRunning: false,
    logger: pino({ level: 'warn' }),
    output,
    ...(brokers === undefined ? {} : { kafkaBrokers: brokers }),
  });

  for (const outcome of result.outcomes) {
    const raised = outcome.alerts.map((alert) => alert.ruleId);
    if (outcome.step.attack) {
      for (const ruleId of outcome.step.expect)
        assert.ok(raised.includes(ruleId), `${outcome.step.id}: no ${ruleId} alert in ${raised.join(', ')}`);
    } else {
      assert.deepEqual(raised, [], `benign step ${outcome.step.id} alerted`);
    }
  }
  assert.equal(result.passed, true);
  // The weather server runs on SDK 2.x with the one import: its list_changed re-read the catalog in-process.
  const rugPull = result.outcomes.find((outcome) => outcome.step.id === 'rug-pull');
  const drift = rugPull?.alerts.find((alert) => alert.ruleId === 'tool-definition-drift');
  assert.equal(drift?.entities.server, 'weather');
  assert.equal(drift.evidence['trigger'], 'list-changed');
  // The toolbox server runs bare, watched only through `mcpwatch proxy`: each attack on it is caught there.
  for (const id of ['poisoned-tool', 'hidden-unicode']) {
    const outcome = result.outcomes.find((found) => found.step.id === id);
    assert.ok(outcome !== undefined, `no ${id} step`);
    for (const ruleId of outcome.step.expect) {
      const alert = outcome.alerts.find((found) => found.ruleId === ruleId && found.entities.server === 'toolbox');
      assert.ok(alert !== undefined, `${id}: no ${ruleId} alert on the proxied toolbox server`);
    }
  }
  const attacks = result.outcomes.filter((outcome) => outcome.step.attack).length;
  assert.ok(screen.includes(`${attacks}/${attacks} attacks caught, 0 benign steps alerted`), screen);

  const lines = (await readFile(result.alertsPath, 'utf8')).trim().split('\n');
  const delivered = new Set(result.outcomes.flatMap((outcome) => outcome.alerts.map((alert) => alert.alertId)));
  for (const line of lines) assert.ok(parseAlert(JSON.parse(line)).ok, 'every JSONL alert satisfies the contract');
  assert.deepEqual(new Set(lines.map((line) => (JSON.parse(line) as { alertId: string }).alertId)), delivered);
}
