import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RULES } from '../../detectors/rules/index.ts';
import { loadAnalyticsRules } from './arm.ts';

const RULES_DIR = fileURLToPath(new URL('./rules', import.meta.url));
const LIFT_TAG = 'mcpwatch-rule:';

/** `technique` is `wanted` or one of its sub-techniques. */
function covers(technique: string, wanted: string): boolean {
  return technique === wanted || technique.startsWith(`${wanted}.`);
}

void describe('Sentinel rules against the detections catalog', () => {
  void it('lifts every high and critical detector into incidents, once, with Account, IP and CloudApplication', async () => {
    const rules = await loadAnalyticsRules(RULES_DIR);
    const lifted = new Map<string, (typeof rules)[number][]>();
    for (const rule of rules) {
      for (const tag of rule.tags ?? []) {
        if (tag.startsWith(LIFT_TAG))
          lifted.set(tag.slice(LIFT_TAG.length), [...(lifted.get(tag.slice(LIFT_TAG.length)) ?? []), rule]);
      }
    }
    const catalog = new Map(RULES.map((rule) => [rule.meta.id, rule.meta]));
    const severe = RULES.filter((rule) => rule.meta.severity === 'high' || rule.meta.severity === 'critical');
    assert.ok(severe.length >= 10, `${severe.length} high or critical detectors`);
    for (const { meta } of severe) {
      const matches = lifted.get(meta.id) ?? [];
      assert.equal(matches.length, 1, `${meta.id}: ${matches.length} analytics rules lift it`);
      const [rule] = matches;
      assert.ok(
        rule!.query.includes(`| where RuleId == "${meta.id}"`),
        `${meta.id}: the query does not select its alerts`,
      );
      assert.deepEqual(
        rule!.entityMappings?.map((mapping) => mapping.entityType),
        ['Account', 'IP', 'CloudApplication'],
      );
      // The incident carries at least the ATT&CK techniques the detector itself declares (ATLAS ids stay in the alert).
      for (const wanted of meta.attack.filter((id) => id.startsWith('T'))) {
        assert.ok(
          rule!.relevantTechniques.some((technique) => covers(technique, wanted)),
          `${meta.id}: ${wanted} missing from relevantTechniques`,
        );
      }
    }
    for (const id of lifted.keys())
      assert.ok(catalog.has(id), `analytics rule lifts ${id}, which is not in the catalog`);
  });
});
