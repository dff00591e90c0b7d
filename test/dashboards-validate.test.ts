import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, type Diagnostic } from '../dashboards/validate/diagnostic.ts';
import { shippedTransforms, validateDashboards } from '../dashboards/validate/validate-dashboards.ts';

const DASHBOARDS = fileURLToPath(new URL('../dashboards', import.meta.url));

let scratch: string;

/** A dashboards folder holding only the given files (paths relative to it). */
async function dashboardsWith(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(scratch, 'dashboards-'));
  for (const [relative, text] of Object.entries(files)) {
    const target = path.join(root, relative);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  return root;
}

function shipped(relative: string): Promise<string> {
  return readFile(path.join(DASHBOARDS, relative), 'utf8');
}

/** The shipped ASIM parsers, which the hunting queries that follow one agent or tool read through. */
async function shippedParsers(): Promise<Record<string, string>> {
  const names = (await readdir(path.join(DASHBOARDS, 'parsers'))).filter((file) => file.endsWith('.yaml'));
  return Object.fromEntries(
    await Promise.all(names.map(async (name) => [`parsers/${name}`, await shipped(`parsers/${name}`)] as const)),
  );
}

function errors(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
}

void describe('validateDashboards', () => {
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'mcpwatch-dashboards-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  void it('passes every shipped rule, hunting query, workbook and data collection rule transform', async () => {
    const diagnostics = await validateDashboards(DASHBOARDS);
    assert.deepEqual(diagnostics.map(formatDiagnostic), []);
    // The check covers what ships: guard against an empty or misplaced folder passing vacuously.
    const rules = (await readdir(path.join(DASHBOARDS, 'sentinel/rules'))).filter((file) => file.endsWith('.yaml'));
    const hunting = (await readdir(path.join(DASHBOARDS, 'hunting'))).filter((file) => file.endsWith('.kql'));
    const workbooks = (await readdir(path.join(DASHBOARDS, 'workbooks'))).filter((file) => file.endsWith('.json'));
    assert.ok(rules.length >= 14, `${rules.length} rules`);
    assert.ok(hunting.length >= 5, `${hunting.length} hunting queries`);
    assert.deepEqual(workbooks.sort(), ['investigation.json', 'overview.json']);
    assert.deepEqual(Object.keys(await shippedParsers()).sort(), [
      'parsers/ASimAgentEventMcpwatch.yaml',
      'parsers/vimAgentEventMcpwatch.yaml',
    ]);
    assert.equal(shippedTransforms().length, 2);
  });

  void it('fails a copy of a shipped hunting query with a column typo, naming file, query, line and column', async () => {
    const text = await shipped('hunting/token-passthrough-candidates.kql');
    const broken = text.replace(
      '| where Kind == "outbound-request"',
      '| where Kind == "outbound-request" and DestinationHots != ""',
    );
    assert.notEqual(broken, text);
    const root = await dashboardsWith({ 'hunting/token-passthrough-candidates.kql': broken });
    const diagnostics = errors(await validateDashboards(root, { transforms: [] }));
    assert.equal(diagnostics.length, 1, diagnostics.map(formatDiagnostic).join('\n'));
    const [diagnostic] = diagnostics;
    const lines = broken.split('\n');
    const line = lines.findIndex((candidate) => candidate.includes('DestinationHots')) + 1;
    assert.equal(diagnostic!.line, line);
    assert.equal(diagnostic!.column, lines[line - 1]!.indexOf('DestinationHots') + 1);
    assert.equal(
      formatDiagnostic(diagnostic!),
      `${root.split(path.sep).join('/')}/hunting/token-passthrough-candidates.kql:${line}:${diagnostic!.column} error KS142 in ` +
        `"Inbound tokens forwarded to downstream hosts": The name 'DestinationHots' does not refer to any known column, table, variable or function.`,
    );
  });

  void it('requires the hunting header an analyst reads first', async () => {
    const text = await shipped('hunting/rarely-used-tools.kql');
    const broken = text
      .replace(/^\/\/ Tactics:.*\n/m, '')
      .replace('// Techniques: T1526, T1204', '// Techniques: T1526, Discovery');
    const root = await dashboardsWith({ ...(await shippedParsers()), 'hunting/rarely-used-tools.kql': broken });
    const messages = errors(await validateDashboards(root, { transforms: [] })).map((diagnostic) => diagnostic.message);
    assert.deepEqual(messages, ['header comment lacks "// Tactics: ..."', 'Discovery is not an ATT&CK technique id']);
  });

  void it('fails two rules sharing one id or one name', async () => {
    const rule = await shipped('sentinel/rules/mcpwatch-token-passthrough.yaml');
    const copy = rule.replace(/^name: .*$/m, 'name: "MCPWatch - Token passthrough (copy)"');
    const root = await dashboardsWith({
      'sentinel/rules/a.yaml': rule,
      'sentinel/rules/b.yaml': copy,
    });
    const diagnostics = errors(await validateDashboards(root, { transforms: [] }));
    assert.equal(diagnostics.length, 1, diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(diagnostics[0]!.code, 'rule-unique');
    assert.match(diagnostics[0]!.file, /b\.yaml$/);
    assert.equal(diagnostics[0]!.line, 1, 'points at the id: key');

    const sameName = rule.replace(/^id: .*$/m, 'id: 00000000-0000-4000-8000-000000000001');
    const named = await dashboardsWith({ 'sentinel/rules/a.yaml': rule, 'sentinel/rules/c.yaml': sameName });
    const [duplicateName] = errors(await validateDashboards(named, { transforms: [] }));
    assert.equal(duplicateName?.code, 'rule-unique');
    assert.match(duplicateName.message, /^name MCPWatch - Token passthrough to a downstream service is also used by/);
    assert.deepEqual([duplicateName.line, duplicateName.column], [2, 7], 'points at the name value');
    assert.match(diagnostics[0]!.message, /^id [0-9a-f-]{36} is also used by .*a\.yaml$/);
  });

  void it('fails a workbook item with a typo at its position in the query as written, parameters and all', async () => {
    const text = await shipped('workbooks/investigation.json');
    const workbook = JSON.parse(text) as {
      items: { type: number; content: { items?: { content: { query: string } }[] } }[];
    };
    const alerts = workbook.items[2]!.content.items![0]!.content;
    const typo = "| where isempty('{Session}') or EntitiesSesion == '{Session}'";
    alerts.query = alerts.query.replace("| where isempty('{Session}') or EntitiesSession == '{Session}'", typo);
    assert.ok(alerts.query.includes('EntitiesSesion'));
    const root = await dashboardsWith({ 'workbooks/investigation.json': JSON.stringify(workbook) });
    const diagnostics = errors(await validateDashboards(root, { transforms: [] }));
    assert.equal(diagnostics.length, 1, diagnostics.map(formatDiagnostic).join('\n'));
    const lines = alerts.query.split('\n');
    const line = lines.findIndex((candidate) => candidate.includes('EntitiesSesion')) + 1;
    assert.deepEqual(
      { ...diagnostics[0]!, file: path.basename(diagnostics[0]!.file) },
      {
        severity: 'error',
        file: 'investigation.json',
        query: 'items/2/content/items/0 "mcpwatch alerts"',
        // After `{Session}` was substituted on the same line: the column is mapped back to the text as written.
        line,
        column: lines[line - 1]!.indexOf('EntitiesSesion') + 1,
        within: 'query',
        code: 'KS142',
        message: "The name 'EntitiesSesion' does not refer to any known column, table, variable or function.",
      },
    );
  });

  void it('fails a workbook query that references an undeclared parameter or uses a text parameter unquoted', async () => {
    const text = await shipped('workbooks/investigation.json');
    const undeclared = text.replace("EntitiesUser == '{Principal}'", "EntitiesUser == '{Principl}'");
    const unquoted = text.replace("EntitiesUser == '{Principal}'", 'EntitiesUser == {Principal}');
    assert.notEqual(undeclared, text);
    const root = await dashboardsWith({ 'workbooks/a.json': undeclared, 'workbooks/b.json': unquoted });
    const diagnostics = errors(await validateDashboards(root, { transforms: [] }));
    const byFile = (name: string): string[] =>
      diagnostics
        .filter((diagnostic) => diagnostic.file.endsWith(name))
        .map((diagnostic) => `${diagnostic.code} ${diagnostic.message}`);
    assert.deepEqual(byFile('a.json'), ['workbook-parameter {Principl} is not a parameter of this workbook']);
    assert.ok(
      byFile('b.json').length > 0 && byFile('b.json').every((entry) => entry.startsWith('KS')),
      byFile('b.json').join('\n'),
    );
  });

  void it('fails a workbook whose items share a name', async () => {
    const text = await shipped('workbooks/overview.json');
    const broken = text.replace('"name": "recent-alerts"', '"name": "alerts-by-severity"');
    assert.notEqual(broken, text);
    const root = await dashboardsWith({ 'workbooks/overview.json': broken });
    const diagnostics = errors(await validateDashboards(root, { transforms: [] }));
    assert.deepEqual(
      diagnostics.map((diagnostic) => `${diagnostic.query}: ${diagnostic.message}`),
      ['items/2/content/items/3: item name "alerts-by-severity" is also used by items/2/content/items/0'],
    );
  });

  void it('compiles data collection rule transforms against their stream and fails a broken one', async () => {
    const [stream] = shippedTransforms();
    const root = await dashboardsWith({
      ...(await shippedParsers()),
      'hunting/rarely-used-tools.kql': await shipped('hunting/rarely-used-tools.kql'),
    });
    assert.deepEqual(await validateDashboards(root, { transforms: [stream!] }), []);
    const broken = { ...stream!, transformKql: 'source | extend TimeGenerated = todatetime(TimeGenerate)' };
    const diagnostics = errors(await validateDashboards(root, { transforms: [broken] }));
    assert.equal(diagnostics.length, 1, diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(diagnostics[0]!.query, `transformKql of ${stream!.streamName}`);
    assert.equal(diagnostics[0]!.column, 'source | extend TimeGenerated = todatetime('.length + 1);
    assert.match(diagnostics[0]!.message, /TimeGenerate'/);
  });

  void it('checks the ASIM Agent Event parsers against the schema: columns, types, mandatory fields, filters', async () => {
    const vim = await shipped('parsers/vimAgentEventMcpwatch.yaml');
    const asim = await shipped('parsers/ASimAgentEventMcpwatch.yaml');
    const broken = vim
      .replace('EventCount = toint(1)', 'EventCount = 1')
      .replace('          Dvc,\n', '          ServerName,\n')
      .replace('  - Name: username_has_any\n    Type: dynamic\n    Default: dynamic([])\n', '');
    assert.notEqual(broken, vim);
    const root = await dashboardsWith({ 'parsers/vimAgentEventMcpwatch.yaml': broken });
    const messages = errors(await validateDashboards(root, { transforms: [] })).map((d) => `${d.code} ${d.message}`);
    assert.deepEqual(messages.sort(), [
      "KS142 The name 'username_has_any' does not refer to any known column, table, variable or function.",
      'parser-params lacks the parameter username_has_any',
    ]);
    const typed = await dashboardsWith({
      'parsers/vimAgentEventMcpwatch.yaml': vim
        .replace('EventCount = toint(1)', 'EventCount = 1')
        .replace('          Dvc,\n', '          ServerName,\n'),
    });
    assert.deepEqual(
      errors(await validateDashboards(typed, { transforms: [] })).map((d) => `${d.code} ${d.message}`),
      [
        'parser-column returns EventCount as long; the schema says int',
        'parser-column returns ServerName, which is not in the AgentEvent schema',
        'parser-column lacks the mandatory column Dvc',
      ],
    );
    // The ASim parser calls the vim one: alone, it does not compile.
    const alone = await dashboardsWith({ 'parsers/ASimAgentEventMcpwatch.yaml': asim });
    const [missing] = errors(await validateDashboards(alone, { transforms: [] }));
    assert.match(missing?.code ?? '', /^KS\d+$/);
    assert.match(missing!.message, /vimAgentEventMcpwatch/);
    const lines = asim.split('\n');
    assert.equal(missing!.line, lines.findIndex((line) => line.includes('vimAgentEventMcpwatch(')) + 1);
  });

  void it('fails a folder with nothing to check instead of passing it', async () => {
    const root = await mkdtemp(path.join(scratch, 'empty-'));
    const diagnostics = await validateDashboards(root, { transforms: [] });
    assert.deepEqual(
      diagnostics.map((diagnostic) => diagnostic.code),
      ['no-content'],
    );
  });
});
