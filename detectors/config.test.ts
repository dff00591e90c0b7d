import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMcpwatchError } from '../contracts/errors.ts';
import { testRules } from '../test/detectors-test-rule.ts';
import { detectorsConfigJsonSchema, parseDetectorsConfig } from './config.ts';

const ruleId = 'test-session-two-principals';

function configError(input: unknown): string {
  try {
    parseDetectorsConfig(input, testRules);
  } catch (error) {
    assert.ok(isMcpwatchError(error, 'CONFIG_INVALID'), String(error));
    return error.message;
  }
  assert.fail('expected CONFIG_INVALID');
}

void describe('detectors configuration', () => {
  void test('an empty configuration runs every rule with its defaults and a stdout sink', () => {
    const config = parseDetectorsConfig({}, testRules);
    assert.deepEqual(
      config.rules.map(({ rule, config: ruleConfig }) => [rule.meta.id, ruleConfig]),
      [[ruleId, { maxPrincipals: 1 }]],
    );
    assert.deepEqual(config.sinks, [{ type: 'stdout', format: 'text' }]);
    assert.equal(config.engine.allowedLatenessMs, 60_000);
    assert.deepEqual(config.environment, { knownServers: [], trustedIssuers: [], expectedAudiences: {} });
  });

  void test('rules are disabled and tuned by id, options validated by the rule schema', () => {
    assert.deepEqual(parseDetectorsConfig({ rules: { [ruleId]: { enabled: false } } }, testRules).rules, []);
    const tuned = parseDetectorsConfig({ rules: { [ruleId]: { config: { maxPrincipals: 3 } } } }, testRules);
    assert.deepEqual(tuned.rules[0]!.config, { maxPrincipals: 3 });
    assert.match(
      configError({ rules: { [ruleId]: { config: { maxPrincipals: 'x' } } } }),
      /rules\.test-session-two-principals\.config\.maxPrincipals: /,
    );
  });

  void test('a bad value fails naming its key path and the expectation', () => {
    assert.match(configError({ engine: { allowedLatenessMs: -1 } }), /engine\.allowedLatenessMs: .*>=0/);
    assert.match(configError({ sinks: [{ type: 'webhook', url: 'ftp://x' }] }), /sinks\[0\]\.url/);
    assert.match(configError({ sinks: [{ type: 'carrier-pigeon' }] }), /sinks\[0\]\.type/);
    assert.match(configError({ enviroment: {} }), /enviroment/);
    assert.match(configError({ rules: { 'no-such-rule': {} } }), /no-such-rule/);
  });

  void test('exports JSON Schema with each rule section', () => {
    const schema = detectorsConfigJsonSchema(testRules) as {
      properties: { rules: { properties: Record<string, unknown> }; sinks: unknown };
      additionalProperties: boolean;
    };
    assert.equal(schema.additionalProperties, false);
    assert.ok(ruleId in schema.properties.rules.properties);
    assert.match(JSON.stringify(schema.properties.rules.properties[ruleId]), /maxPrincipals/);
  });
});
