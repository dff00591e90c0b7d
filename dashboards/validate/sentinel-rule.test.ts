import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import type { Diagnostic } from './diagnostic.ts';
import { QueryCompiler } from './kusto-service.ts';
import { checkAnalyticsRule, durationMinutes, isoDuration } from './sentinel-rule.ts';
import { workspaceDatabase } from './workspace-schema.ts';

const compiler = new QueryCompiler(workspaceDatabase());
const SHIPPED = 'dashboards/sentinel/rules/mcpwatch-token-audience-mismatch.yaml';
const shippedText = readFileSync(
  new URL('../sentinel/rules/mcpwatch-token-audience-mismatch.yaml', import.meta.url),
  'utf8',
);

/** The shipped rule with one change, checked; returns the diagnostics. */
function checkWith(change: (rule: ReturnType<typeof parseDocument>) => void): Diagnostic[] {
  const document = parseDocument(shippedText);
  change(document);
  return checkAnalyticsRule('rule.yaml', document.toString(), compiler).diagnostics;
}

function only(diagnostics: Diagnostic[], code: string): Diagnostic {
  assert.equal(diagnostics.length, 1, diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
  const [diagnostic] = diagnostics;
  assert.equal(diagnostic!.code, code, diagnostic!.message);
  return diagnostic!;
}

void describe('analytics rule checks', () => {
  void it('accepts the shipped rule', () => {
    assert.deepEqual(checkAnalyticsRule(SHIPPED, shippedText, compiler).diagnostics, []);
  });

  void it('points a column typo in the query at its line and column in the YAML file', () => {
    const broken = shippedText.replace(
      '| where RuleId == "token-audience-mismatch"',
      '| where RuleIdd == "token-audience-mismatch"',
    );
    assert.notEqual(broken, shippedText);
    const diagnostics = checkAnalyticsRule(SHIPPED, broken, compiler).diagnostics;
    const diagnostic = only(diagnostics, 'KS142');
    const lines = broken.split('\n');
    const expectedLine = lines.findIndex((line) => line.includes('RuleIdd')) + 1;
    assert.equal(diagnostic.file, SHIPPED);
    assert.equal(diagnostic.query, 'MCPWatch - Token audience mismatch');
    assert.equal(diagnostic.within, 'file');
    assert.equal(diagnostic.line, expectedLine);
    assert.equal(diagnostic.column, lines[expectedLine - 1]!.indexOf('RuleIdd') + 1);
    assert.match(diagnostic.message, /RuleIdd/);
  });

  void it('rejects a query frequency under 5 minutes', () => {
    const diagnostic = only(
      checkWith((rule) => rule.set('queryFrequency', '1m')),
      'rule-duration',
    );
    assert.match(diagnostic.message, /queryFrequency 1m is outside 5m\.\.14d/);
  });

  void it('rejects a query period shorter than the frequency, and one longer than 14 days', () => {
    assert.match(
      only(
        checkWith((rule) => rule.set('queryPeriod', '1m')),
        'rule-duration',
      ).message,
      /shorter than queryFrequency/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.set('queryPeriod', 'P15D')),
        'rule-duration',
      ).message,
      /longer than 14d/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.set('queryPeriod', 'an hour')),
        'rule-duration',
      ).message,
      /not a duration/,
    );
  });

  void it('rejects trigger settings Sentinel refuses or that can never fire', () => {
    assert.match(
      only(
        checkWith((rule) => rule.set('triggerThreshold', 20_000)),
        'rule-trigger',
      ).message,
      /outside 0\.\.10000/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.set('triggerOperator', 'lt')),
        'rule-trigger',
      ).message,
      /can never fire/,
    );
    assert.equal(
      only(
        checkWith((rule) => rule.set('triggerOperator', 'greater')),
        'rule-schema',
      ).line,
      15,
    );
  });

  void it('rejects more than 5 entity mappings and more than 3 identifiers in one', () => {
    const six = checkWith((rule) => {
      for (let index = 0; index < 3; index++) {
        rule.addIn(['entityMappings'], {
          entityType: 'URL',
          fieldMappings: [{ identifier: 'Url', columnName: 'Title' }],
        });
      }
    });
    assert.match(only(six, 'entity-mapping').message, /6 entity mappings; Sentinel accepts at most 5/);
    const four = checkWith((rule) => {
      for (const identifier of ['FullName', 'DisplayName', 'AadUserId']) {
        rule.addIn(['entityMappings', 0, 'fieldMappings'], { identifier, columnName: 'EntitiesUser' });
      }
    });
    assert.match(only(four, 'entity-mapping').message, /4 identifiers for one Account/);
  });

  void it('rejects unknown entity types and identifiers that do not belong to the type', () => {
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['entityMappings', 2, 'entityType'], 'McpServer')),
        'entity-mapping',
      ).message,
      /unknown entity type McpServer/,
    );
    const diagnostic = only(
      checkWith((rule) => rule.setIn(['entityMappings', 1, 'fieldMappings', 0, 'identifier'], 'Name')),
      'entity-mapping',
    );
    assert.match(diagnostic.message, /Name is not an identifier of IP; expected one of Address, AddressScope/);
  });

  void it('rejects mapped columns the query does not return', () => {
    const diagnostic = only(
      checkWith((rule) => rule.setIn(['entityMappings', 0, 'fieldMappings', 0, 'columnName'], 'PrincipalId')),
      'entity-mapping',
    );
    assert.match(diagnostic.message, /column PrincipalId is not in the query result/);
    assert.equal(
      diagnostic.line,
      shippedText.split('\n').findIndex((line) => line.includes('columnName: EntitiesUser')) + 1,
    );
  });

  void it('rejects custom detail keys that are not alphanumeric, too many details, and unknown columns', () => {
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['customDetails', 'mcp-session'], 'EntitiesSession')),
        'custom-details',
      ).message,
      /"mcp-session" must be 1\.\.20 letters and digits/,
    );
    const many = checkWith((rule) => {
      for (let index = 0; index < 13; index++) rule.setIn(['customDetails', `Extra${index}`], 'Title');
    });
    assert.match(only(many, 'custom-details').message, /21 custom details; Sentinel accepts at most 20/);
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['customDetails', 'McpTool'], 'Tool')),
        'custom-details',
      ).message,
      /column Tool is not in the query result/,
    );
  });

  void it('rejects alert detail overrides that reference missing columns or too many parameters', () => {
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['alertDetailsOverride', 'alertDisplayNameFormat'], '{{Titel}}')),
        'alert-details',
      ).message,
      /column Titel is not in the query result/,
    );
    assert.match(
      only(
        checkWith((rule) =>
          rule.setIn(['alertDetailsOverride', 'alertDescriptionFormat'], '{{Title}} {{RuleId}} {{AlertId}} {{Count}}'),
        ),
        'alert-details',
      ).message,
      /4 \{\{column\}\} parameters/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['alertDetailsOverride', 'alertSeverityColumnName'], 'Severty')),
        'alert-details',
      ).message,
      /Severty/,
    );
  });

  void it('rejects unknown tactics, malformed or unlisted techniques and techniques outside the tactics', () => {
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['tactics', 0], 'Evasion')),
        'rule-tactic',
      ).message,
      /unknown tactic Evasion/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['relevantTechniques', 0], 'T9999')),
        'rule-technique',
      ).message,
      /T9999 is not in dashboards\/validate\/attack\.ts/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['relevantTechniques', 0], 'AML.T0051')),
        'rule-technique',
      ).message,
      /not an ATT&CK technique id/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.set('tactics', ['CredentialAccess'])),
        'rule-technique',
      ).message,
      /T1550\.001 belongs to DefenseEvasion, LateralMovement, none of which is in tactics/,
    );
  });

  void it('rejects a malformed id, unknown keys and an invalid severity', () => {
    assert.match(
      only(
        checkWith((rule) => rule.set('id', 'not-a-guid')),
        'rule-schema',
      ).message,
      /^id: /,
    );
    assert.match(
      only(
        checkWith((rule) => rule.set('querFrequency', '5m')),
        'rule-schema',
      ).message,
      /querFrequency/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.set('severity', 'Critical')),
        'rule-schema',
      ).message,
      /^severity: /,
    );
  });

  void it('rejects required data types that are not workspace tables or that the query does not read', () => {
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['requiredDataConnectors', 0, 'dataTypes', 0], 'McpAlerts_CL')),
        'rule-data-type',
      ).message,
      /McpAlerts_CL is not a table of the workspace/,
    );
    assert.match(
      only(
        checkWith((rule) => rule.setIn(['requiredDataConnectors', 0, 'dataTypes', 0], 'MCPWatchEvents_CL')),
        'rule-data-type',
      ).message,
      /MCPWatchEvents_CL is not queried/,
    );
  });

  void it('rejects incident grouping on custom details the rule does not define', () => {
    const diagnostic = only(
      checkWith((rule) =>
        rule.setIn(['incidentConfiguration', 'groupingConfiguration', 'groupByCustomDetails', 0], 'Nope'),
      ),
      'incident-grouping',
    );
    assert.match(diagnostic.message, /custom detail Nope/);
  });
});

void describe('durations', () => {
  void it('reads Azure-Sentinel short forms and ISO 8601, and writes ISO 8601', () => {
    assert.equal(durationMinutes('5m'), 5);
    assert.equal(durationMinutes('14d'), 20_160);
    assert.equal(durationMinutes('PT1H'), 60);
    assert.equal(durationMinutes('P1DT2H30M'), 1590);
    assert.equal(durationMinutes('P'), undefined);
    assert.equal(durationMinutes('PT'), undefined);
    assert.equal(durationMinutes('1w'), undefined);
    assert.equal(isoDuration(5), 'PT5M');
    assert.equal(isoDuration(20_160), 'P14D');
    assert.equal(isoDuration(1590), 'P1DT2H30M');
  });
});
