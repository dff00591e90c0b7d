import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callEvent, testRules } from '../test/detectors-test-rule.ts';
import {
  changeToRecord,
  heldBatchItem,
  heldBatchRecord,
  heldProgressRecord,
  positionRecord,
  recordToCheckpoint,
} from './checkpoint.ts';
import { DetectionEngine } from './engine.ts';

const rules = testRules.map((rule) => ({ rule, config: { maxPrincipals: 1 } }));

/** What the state topic hands back: the value as bytes (a tombstone reads as an empty value). */
function asStored(record: { key: string | null; value: Buffer | string }): { key: string | null; value: Buffer } {
  return { key: record.key, value: Buffer.from(record.value) };
}

void describe('state checkpoint records', () => {
  void test('an engine restored from its records continues where it stopped, tombstones included', () => {
    const first = new DetectionEngine({ rules, suppressionMs: 0 });
    first.process(callEvent('e1', 0, 'session/with/slashes', 'alice'));
    first.process(callEvent('e2', 1, 'gone', 'alice'));
    const records = first.takeChanges().map((change) => changeToRecord({ scope: 'session', partition: 3 }, change));
    assert.ok(records.every((record) => record.partition === 3 && record.key!.startsWith('session/3/')));
    records.push(
      asStored(
        changeToRecord(
          { scope: 'session', partition: 3 },
          { type: 'state', ruleId: testRules[0]!.meta.id, key: 'gone', entry: undefined },
        ),
      ),
    );

    const second = new DetectionEngine({ rules });
    for (const record of records) {
      const checkpoint = recordToCheckpoint(asStored(record));
      assert.equal(checkpoint.partition, 3);
      if (checkpoint.type === 'change') second.restore(checkpoint.change);
    }
    assert.deepEqual(second.stateSize(), { 'test-session-two-principals': 1 });
    assert.equal(second.process(callEvent('e3', 2, 'session/with/slashes', 'bob')).length, 1);
  });

  void test('positions round trip and bad records are refused naming the key', () => {
    assert.deepEqual(
      recordToCheckpoint(asStored(positionRecord({ scope: 'global', partition: 0 }, 'events', '12345678901234567890'))),
      { scope: 'global', partition: 0, type: 'position', topic: 'events', offset: '12345678901234567890' },
    );
    // The earlier layout (one engine per events partition) restores into the session scope.
    assert.deepEqual(recordToCheckpoint({ key: '4/position', value: Buffer.from('{"offset":"7"}') }, 'events'), {
      scope: 'session',
      partition: 4,
      type: 'position',
      topic: 'events',
      offset: '7',
    });
    assert.throws(
      () => recordToCheckpoint({ key: 'nonsense', value: Buffer.from('{}') }),
      /"nonsense": not a checkpoint key/,
    );
    assert.throws(
      () => recordToCheckpoint({ key: '1/clock', value: Buffer.from('{"maxEventTime":"x"}') }),
      /maxEventTime/,
    );
    assert.throws(() => recordToCheckpoint({ key: '1/state/r/k', value: Buffer.from('{') }), /not JSON/);
  });

  void test('held batches and their progress round trip; malformed ones are refused', () => {
    const owner = { scope: 'server', partition: 2 } as const;
    const held = { input: 'events/7', seq: 3, event: callEvent('e1', 0, 's', 'alice') };
    assert.deepEqual(recordToCheckpoint(asStored(heldBatchRecord(owner, 'events/7', [heldBatchItem(held)]))), {
      ...owner,
      type: 'held-batch',
      id: 'events/7',
      events: [held],
    });
    assert.deepEqual(recordToCheckpoint(asStored(heldBatchRecord(owner, 'events/7', undefined))), {
      ...owner,
      type: 'held-batch',
      id: 'events/7',
      events: undefined,
    });
    const ran = new Map([['events/7', 2]]);
    assert.deepEqual(recordToCheckpoint(asStored(heldProgressRecord(owner, ran))), {
      ...owner,
      type: 'held-progress',
      ran,
    });
    assert.deepEqual(recordToCheckpoint(asStored(heldProgressRecord(owner, new Map()))), {
      ...owner,
      type: 'held-progress',
      ran: new Map(),
    });
    const refused = (key: string, value: string, why: RegExp) =>
      assert.throws(() => recordToCheckpoint({ key, value: Buffer.from(value) }), why);
    refused('server/2/held-batch/events', '{"events":[]}', /without its first input/);
    refused('server/2/held-batch/events/7', '{"events":[]}', /without events/);
    refused('server/2/held-batch/events/7', '{"events":[{"seq":1,"event":{"time":"t"}}]}', /without seq or input/);
    refused('server/2/held-progress', '{"ran":{"events/7":0}}', /bad count/);
    refused('server/2/held-progress/x', '{}', /with a tail/);
  });
});
