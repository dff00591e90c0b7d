import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyticsRuleResource, analyticsRulesTemplate, loadAnalyticsRules } from './arm.ts';

const RULES = fileURLToPath(new URL('./rules', import.meta.url));

void describe('analytics rules as ARM', () => {
  void it('converts a shipped rule with ISO 8601 durations, ARM operator names and split techniques', async () => {
    const rules = await loadAnalyticsRules(RULES);
    const rule = rules.find((candidate) => candidate.name === 'MCPWatch - Token audience mismatch');
    assert.ok(rule);
    const resource = analyticsRuleResource(rule);
    assert.equal(resource.name, `[concat(parameters('workspaceName'), '/Microsoft.SecurityInsights/', '${rule.id}')]`);
    assert.equal(resource.kind, 'Scheduled');
    assert.deepEqual(
      {
        queryFrequency: resource.properties['queryFrequency'],
        queryPeriod: resource.properties['queryPeriod'],
        triggerOperator: resource.properties['triggerOperator'],
        techniques: resource.properties['techniques'],
        subTechniques: resource.properties['subTechniques'],
        grouping: (
          resource.properties['incidentConfiguration'] as { groupingConfiguration: { lookbackDuration: string } }
        ).groupingConfiguration.lookbackDuration,
      },
      {
        queryFrequency: 'PT5M',
        queryPeriod: 'PT1H',
        triggerOperator: 'GreaterThan',
        techniques: ['T1550', 'T1528'],
        subTechniques: ['T1550.001'],
        grouping: 'P1D',
      },
    );
    assert.equal(resource.properties['query'], rule.query);
  });

  void it('puts every shipped rule in one template, each under its own id', async () => {
    const rules = await loadAnalyticsRules(RULES);
    const template = analyticsRulesTemplate(rules) as {
      resources: { name: string; properties: { queryPeriod: string } }[];
    };
    assert.equal(template.resources.length, rules.length);
    assert.equal(new Set(template.resources.map((resource) => resource.name)).size, rules.length);
    const baseline = template.resources.filter((resource) => resource.properties.queryPeriod === 'P14D');
    assert.equal(baseline.length, 2);
  });
});
