import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OwaspMcpCode, Severity, TechniqueId } from '../../contracts/alert.ts';
import { parseAlert } from '../../contracts/parse.ts';
import { loadEvents, runCatalog } from './fixtures/environment.ts';
import { RULES } from './index.ts';
import { findSecrets } from '../../contracts/secret-catalog.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, 'fixtures');
const MIN_FIXTURES = 2;

/** What a positive fixture must raise from its own rule: one entry per alert, in order. */
interface ExpectedAlert {
  severity: string;
  /** Entities the alert must name (server, tool, user): what it is about. */
  subject: Record<string, string>;
}

function expectationsOf(ruleId: string): Record<string, ExpectedAlert[]> {
  const path = join(FIXTURES, ruleId, 'positive', 'expected.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, ExpectedAlert[]>) : {};
}

function fixtureFiles(ruleId: string, polarity: 'positive' | 'negative'): string[] {
  const dir = join(FIXTURES, ruleId, polarity);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) => join(dir, name));
}

void describe('detections catalog', () => {
  void test('every rule file is in RULES and every rule has its own file', () => {
    const files = readdirSync(HERE)
      .filter(
        (name) =>
          name.endsWith('.ts') &&
          !name.endsWith('.test.ts') &&
          name !== 'index.ts' &&
          name !== 'generate-docs.ts' &&
          name !== 'version-lock.ts',
      )
      .map((name) => name.slice(0, -3))
      .sort();
    assert.deepEqual(files, RULES.map((rule) => rule.meta.id).sort());
    assert.equal(new Set(RULES.map((rule) => rule.meta.id)).size, RULES.length, 'rule ids are unique');
  });

  for (const rule of RULES) {
    void describe(rule.meta.id, () => {
      void test('has complete metadata', () => {
        const { meta } = rule;
        assert.match(meta.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
        assert.ok(Number.isInteger(meta.version) && meta.version >= 1, 'version');
        assert.ok(meta.title.length > 0 && meta.title.length <= 256, 'title');
        assert.ok(meta.description.length >= 80, 'description says what the rule catches');
        assert.ok(Severity.safeParse(meta.severity).success, 'severity');
        assert.ok(['experimental', 'test', 'stable'].includes(meta.maturity), 'maturity');
        assert.ok(
          meta.owasp.length > 0 && meta.owasp.every((code) => OwaspMcpCode.safeParse(code).success),
          'OWASP MCP01–MCP10',
        );
        assert.ok(
          meta.attack.length > 0 && meta.attack.every((id) => TechniqueId.safeParse(id).success),
          'ATT&CK/ATLAS ids',
        );
        assert.ok(meta.falsePositives.length > 0, 'known false positives');
        assert.ok(
          meta.references.some((url) => url.startsWith('https://modelcontextprotocol.io/specification/')),
          'references an MCP specification section',
        );
        assert.ok(
          meta.references.every((url) => url.startsWith('https://')),
          'references are URLs',
        );
      });

      void test('has a strict config schema with a default for every field', () => {
        assert.doesNotThrow(() => rule.configSchema.parse({}));
        assert.equal(rule.configSchema.safeParse({ noSuchOption: true }).success, false, 'unknown keys are rejected');
      });

      void test(`has at least ${MIN_FIXTURES} positive and ${MIN_FIXTURES} negative fixtures`, () => {
        assert.ok(fixtureFiles(rule.meta.id, 'positive').length >= MIN_FIXTURES, 'positive fixtures');
        assert.ok(fixtureFiles(rule.meta.id, 'negative').length >= MIN_FIXTURES, 'negative fixtures');
      });

      const expectations = expectationsOf(rule.meta.id);
      void test('every positive fixture states what it expects (positive/expected.json)', () => {
        const names = fixtureFiles(rule.meta.id, 'positive').map((file) => file.split('/').pop()!);
        assert.deepEqual(Object.keys(expectations).sort(), names.sort());
      });

      for (const file of fixtureFiles(rule.meta.id, 'positive')) {
        const name = file.split('/').pop()!;
        void test(`alerts on positive/${name} as expected`, () => {
          const { alerts, ruleErrors } = runCatalog(loadEvents(file));
          assert.deepEqual(ruleErrors, []);
          const own = alerts.filter((alert) => alert.ruleId === rule.meta.id);
          const expected = expectations[name] ?? [];
          assert.ok(expected.length > 0, `${name}: a positive fixture expects at least one alert`);
          assert.equal(
            own.length,
            expected.length,
            `expected ${expected.length} ${rule.meta.id} alert(s), got ${JSON.stringify(alerts.map((alert) => alert.ruleId))}`,
          );
          for (const [index, want] of expected.entries()) {
            const alert = own[index]!;
            assert.equal(alert.severity, want.severity, `alert ${index} severity`);
            for (const [entity, value] of Object.entries(want.subject))
              assert.equal(alert.entities[entity], value, `alert ${index} ${entity}`);
          }
          for (const alert of alerts) assertWellFormed(alert);
        });
      }

      for (const file of fixtureFiles(rule.meta.id, 'negative')) {
        void test(`stays quiet on negative/${file.split('/').pop()}`, () => {
          const { alerts, ruleErrors } = runCatalog(loadEvents(file));
          assert.deepEqual(ruleErrors, []);
          assert.deepEqual(
            alerts.map((alert) => `${alert.ruleId}: ${alert.description}`),
            [],
            'no rule of the catalog may alert on a negative fixture',
          );
        });
      }
    });
  }

  void test('the benign corpus snapshots raise no alert from any rule', () => {
    const dir = join(FIXTURES, 'benign-corpus');
    const files = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.jsonl')) : [];
    assert.ok(files.length > 0, 'benign corpus snapshots exist (regenerate with test/detections-corpus.test.ts)');
    for (const name of files) {
      const { alerts, ruleErrors } = runCatalog(loadEvents(join(dir, name)));
      assert.deepEqual(ruleErrors, []);
      assert.deepEqual(
        alerts.map((alert) => `${name}: ${alert.ruleId}: ${alert.description}`),
        [],
      );
    }
  });
});

/** Alerts validate against the contract, and their evidence never carries a credential. */
function assertWellFormed(alert: unknown): void {
  const parsed = parseAlert(alert);
  assert.ok(parsed.ok, parsed.ok ? '' : JSON.stringify(parsed.issues));
  const leaked = findSecrets([{ location: 'alert', text: JSON.stringify(alert) }]);
  assert.deepEqual(leaked, [], 'alert carries a secret');
}
