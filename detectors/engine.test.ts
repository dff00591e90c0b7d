import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { DetectionEngine, alertIdOf, parseEventTime, runRules } from './engine.ts';
import type { Rule } from './types.ts';

/** A session seen with a second principal: the smallest rule that needs state across two events. */
const twoPrincipals: Rule<{ principals: string[] }, { maxPrincipals: number }> = {
  meta: {
    id: 'test-two-principals',
    version: 1,
    title: 'Session used by two principals',
    description: 'test rule',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP07'],
    attack: ['T1550'],
    falsePositives: [],
    references: [],
  },
  configSchema: z.strictObject({ maxPrincipals: z.number().default(1) }),
  scope: 'session',
  keyOf: (event) => event.sessionId,
  initialState: () => ({ principals: [] }),
  onEvent(state, event, context) {
    const principal = event.principal?.id;
    if (principal === undefined || state.principals.includes(principal)) return { state };
    const principals = [...state.principals, principal];
    const findings =
      principals.length > context.config.maxPrincipals
        ? [
            {
              subject: event.sessionId!,
              title: 'Session reused',
              description: 'two principals',
              entities: { session: event.sessionId!, user: principal },
              evidence: { principals },
              eventIds: [event.eventId],
            },
          ]
        : [];
    return { state: { principals }, findings, timers: [{ name: 'expire', at: context.eventTime + 60_000 }] };
  },
  onTimer: () => ({ state: undefined }),
};

function call(eventId: string, time: string, sessionId: string, principal: string): McpEvent {
  return {
    schemaVersion: 1,
    kind: 'call',
    eventId,
    time,
    server: { name: 'srv' },
    sessionId,
    principal: { id: principal, pseudonymous: true },
    method: 'tools/call',
    outcome: 'ok',
    durationMs: 1,
  };
}

const rules = [{ rule: twoPrincipals as Rule<unknown, unknown>, config: { maxPrincipals: 1 } }];

describe('DetectionEngine', () => {
  test('raises one alert with a deterministic id when state across two events matches', () => {
    const alerts = runRules({ rules }, [
      call('e1', '2026-01-01T00:00:00Z', 's1', 'alice'),
      call('e2', '2026-01-01T00:00:01Z', 's1', 'bob'),
      call('e3', '2026-01-01T00:00:02Z', 's2', 'carol'),
    ]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.alertId, alertIdOf('test-two-principals', 1, 's1'));
    assert.deepEqual(alerts[0]!.evidence, { principals: ['alice', 'bob'] });
    assert.equal(alerts[0]!.time, '2026-01-01T00:00:01.000Z');
  });

  test('folds repeats of one subject within the suppression period', () => {
    const engine = new DetectionEngine({ rules, suppressionMs: 3_600_000 });
    engine.process(call('e1', '2026-01-01T00:00:00Z', 's1', 'alice'));
    assert.equal(engine.process(call('e2', '2026-01-01T00:00:01Z', 's1', 'bob')).length, 1);
    assert.equal(engine.process(call('e3', '2026-01-01T00:00:02Z', 's1', 'mallory')).length, 0);
    assert.equal(engine.counters.findingsSuppressed, 1);
  });

  test('state restored from its checkpointed changes continues where it stopped', () => {
    const first = new DetectionEngine({ rules });
    first.process(call('e1', '2026-01-01T00:00:00Z', 's1', 'alice'));
    const checkpoint = first.takeChanges();
    const second = new DetectionEngine({ rules });
    for (const change of JSON.parse(JSON.stringify(checkpoint)) as typeof checkpoint) second.restore(change);
    assert.equal(second.process(call('e2', '2026-01-01T00:00:01Z', 's1', 'bob')).length, 1);
  });

  test('timers fire when the watermark passes them and can forget the key', () => {
    const engine = new DetectionEngine({ rules, allowedLatenessMs: 0 });
    engine.process(call('e1', '2026-01-01T00:00:00Z', 's1', 'alice'));
    assert.equal(engine.stateSize()['test-two-principals'], 1);
    engine.advanceTo(Date.parse('2026-01-01T00:01:00Z'));
    assert.equal(engine.stateSize()['test-two-principals'], 0);
  });

  test('evicts idle keys and keys over the cap, and counts both', () => {
    const untimed: Rule<unknown, unknown> = {
      ...(twoPrincipals as Rule<unknown, unknown>),
      onEvent: (state) => ({ state }),
    };
    const engine = new DetectionEngine({
      rules: [{ rule: untimed, config: {} }],
      maxKeysPerRule: 2,
      idleKeyTtlMs: 10_000,
    });
    engine.process(call('e1', '2026-01-01T00:00:00Z', 's1', 'alice'));
    engine.process(call('e2', '2026-01-01T00:00:01Z', 's2', 'alice'));
    engine.process(call('e3', '2026-01-01T00:00:02Z', 's3', 'alice'));
    assert.equal(engine.counters.evictedOverCap, 1);
    engine.advanceTo(Date.parse('2026-01-01T00:00:30Z'));
    assert.equal(engine.stateSize()['test-two-principals'], 0);
    assert.equal(engine.counters.evictedIdle, 2);
  });

  test('checkpoints each changed key once, with its latest entry, and evicts a key idle while only other rules see events', () => {
    const untimed: Rule<unknown, unknown> = {
      ...(twoPrincipals as Rule<unknown, unknown>),
      onEvent: (state) => ({ state }),
    };
    const byPrincipal: Rule<unknown, unknown> = {
      ...untimed,
      meta: { ...untimed.meta, id: 'test-by-principal' },
      keyOf: (event) => (event.sessionId === 'quiet' ? undefined : event.principal?.id),
    };
    const engine = new DetectionEngine({
      rules: [
        { rule: untimed, config: {} },
        { rule: byPrincipal, config: {} },
      ],
      idleKeyTtlMs: 10_000,
    });
    engine.process(call('e1', '2026-01-01T00:00:00Z', 'quiet', 'alice'));
    engine.process(call('e2', '2026-01-01T00:00:05Z', 'busy', 'alice'));
    engine.process(call('e3', '2026-01-01T00:00:06Z', 'busy', 'alice'));
    const changes = engine.takeChanges().filter((change) => change.type === 'state');
    assert.deepEqual(
      changes.map((change) => [change.ruleId, change.key, change.entry?.lastSeen]),
      [
        ['test-two-principals', 'quiet', Date.parse('2026-01-01T00:00:00Z')],
        ['test-two-principals', 'busy', Date.parse('2026-01-01T00:00:06Z')],
        ['test-by-principal', 'alice', Date.parse('2026-01-01T00:00:06Z')],
      ],
    );
    assert.deepEqual(engine.takeChanges(), []);
    // Only test-by-principal sees this event; the quiet session went idle 10 s after its only event.
    engine.process({ ...call('e4', '2026-01-01T00:00:10.001Z', 'busy', 'alice'), sessionId: undefined });
    assert.equal(engine.counters.evictedIdle, 1);
    assert.deepEqual(engine.stateSize(), { 'test-two-principals': 1, 'test-by-principal': 1 });
    assert.deepEqual(
      engine.takeChanges().flatMap((change) => (change.type === 'state' ? [[change.key, change.entry]] : [])),
      [
        ['quiet', undefined],
        ['alice', { state: { principals: [] }, lastSeen: Date.parse('2026-01-01T00:00:10.001Z'), timers: {} }],
      ],
    );
  });

  test('a rule that throws is counted and does not stop the event', () => {
    const broken: Rule<unknown, unknown> = {
      ...(twoPrincipals as Rule<unknown, unknown>),
      onEvent: () => {
        throw new Error('boom');
      },
    };
    const engine = new DetectionEngine({ rules: [{ rule: broken, config: {} }, ...rules] });
    engine.process(call('e1', '2026-01-01T00:00:00Z', 's1', 'alice'));
    assert.equal(engine.counters.ruleErrors, 1);
    assert.equal(engine.takeRuleErrors()[0]!.eventId, 'e1');
  });
});

void test('parseEventTime gives what Date.parse gives, for event times and every other form', () => {
  const texts: string[] = [];
  for (const year of ['0099', '0999', '1000', '1970', '2024', '2026', '2100', '9999', '20x6'])
    for (let month = 0; month <= 13; month += 1)
      for (let day = 0; day <= 32; day += 1) {
        const date = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
        texts.push(`${date}T00:00:00.000Z`, `${date}T23:59:59.999Z`);
      }
  for (const time of ['24:00:00.000', '23:60:00.000', '23:59:60.000', '12:34:56.789', '-1:00:00.000', '1a:00:00.000'])
    texts.push(`2026-03-01T${time}Z`);
  texts.push(
    '2026-03-01T12:34:56Z',
    '2026-03-01T12:34:56.7Z',
    '2026-03-01T12:34:56.789+01:00',
    '2026-03-01T12:34:56.789z',
    '2026-03-01 12:34:56.789Z',
    '+002026-03-01T12:34:56.789Z',
    '',
    'not a time',
  );
  for (const text of texts) assert.equal(parseEventTime(text), Date.parse(text), text);
});
