import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryCompiler } from '../dashboards/validate/kusto-service.ts';
import { workspaceDatabase } from '../dashboards/validate/workspace-schema.ts';
import { PANEL_KQL } from './panels.ts';

test('the KQL shown beside each dashboard panel compiles against the tables generated from the contracts', () => {
  const compiler = new QueryCompiler(workspaceDatabase());
  for (const [panel, query] of Object.entries(PANEL_KQL)) {
    const errors = compiler.compile(query).diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
    assert.deepEqual(errors, [], `panel ${panel}`);
  }
  const broken = compiler.compile(PANEL_KQL.alerts.replace('RuleId', 'RuleIdd')).diagnostics;
  assert.ok(
    broken.some((diagnostic) => diagnostic.severity === 'error'),
    'a misspelt column fails the check',
  );
});
