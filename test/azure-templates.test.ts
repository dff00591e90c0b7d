import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { EVENTS_TABLE, TABLES } from '../contracts/log-analytics.ts';
import { QueryCompiler } from '../dashboards/validate/kusto-service.ts';
import { transformDatabase } from '../dashboards/validate/workspace-schema.ts';
import { TRANSFORM_KQL, asimDataFlows, streamDeclarations } from '../dashboards/data-collection-rule.ts';
import {
  GENERATED_DIR,
  MONITORING_METRICS_PUBLISHER_ROLE_ID,
  generatedFiles,
  tableColumnType,
} from '../deploy/azure/generate.ts';

interface ArmResource {
  type: string;
  name: string;
  kind?: string;
  condition?: string;
  scope?: string;
  dependsOn?: string[];
  properties: Record<string, unknown>;
}

interface ArmTemplate {
  parameters: Record<string, unknown>;
  variables: Record<string, unknown>;
  resources: ArmResource[];
  outputs: Record<string, { value: string }>;
}

const files = generatedFiles();
const arm = JSON.parse(files['mcpwatch.json']!) as ArmTemplate;
const bicep = files['mcpwatch.bicep']!;
const resourcesOf = (type: string): ArmResource[] => arm.resources.filter((resource) => resource.type === type);

void test('generated templates are up to date (run `npx tsx deploy/azure/generate.ts` when this fails)', async () => {
  for (const [name, expected] of Object.entries(files)) {
    const committed = await readFile(GENERATED_DIR + name, 'utf8').catch(() => '(missing)');
    assert.equal(committed, expected, `deploy/azure/generated/${name} is stale`);
  }
});

void test('custom tables carry exactly the contract columns with Log Analytics types', () => {
  const tables = resourcesOf('Microsoft.OperationalInsights/workspaces/tables');
  assert.deepEqual(
    tables.map((resource) => resource.name),
    TABLES.map((table) => `[format('{0}/{1}', parameters('workspaceName'), '${table.name}')]`),
  );
  for (const [index, table] of TABLES.entries()) {
    const schema = tables[index]!.properties.schema as { name: string; columns: { name: string; type: string }[] };
    assert.equal(schema.name, table.name);
    assert.deepEqual(
      schema.columns,
      table.columns.map((column) => ({ name: column.name, type: tableColumnType(column.type) })),
    );
    assert.ok(schema.columns.some((column) => column.name === 'TimeGenerated' && column.type === 'dateTime'));
  }
});

void test('the data collection rule is kind Direct with the contract streams, flows into the tables and the transformation', () => {
  const [rule, ...others] = resourcesOf('Microsoft.Insights/dataCollectionRules');
  assert.equal(others.length, 0);
  assert.equal(rule!.kind, 'Direct');
  const properties = rule!.properties as {
    streamDeclarations: Record<string, { columns: { name: string; type: string }[] }>;
    destinations: { logAnalytics: { name: string; workspaceResourceId: string }[] };
    dataFlows: string;
  };
  assert.deepEqual(
    properties.streamDeclarations,
    Object.fromEntries(
      TABLES.map((table) => [
        table.streamName,
        { columns: table.columns.map((column) => ({ name: column.name, type: column.type })) },
      ]),
    ),
  );
  const destination = properties.destinations.logAnalytics[0]!;
  assert.equal(
    destination.workspaceResourceId,
    "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]",
  );
  assert.equal(
    properties.dataFlows,
    "[concat(variables('customTableDataFlows'), if(parameters('sendEventsToAsim'), variables('asimDataFlows'), createArray()))]",
  );
  assert.deepEqual(
    arm.variables.customTableDataFlows,
    TABLES.map((table) => ({
      streams: [table.streamName],
      destinations: [destination.name],
      transformKql: TRANSFORM_KQL,
      outputStream: `Custom-${table.name}`,
    })),
  );
  assert.match(arm.outputs.dataCollectionRuleImmutableId!.value, /\.immutableId\]$/);
  assert.match(arm.outputs.logsIngestionEndpoint!.value, /\.endpoints\.logsIngestion\]$/);
  assert.deepEqual(
    TABLES.map((table) => Object.values(arm.outputs).some((output) => output.value === table.streamName)),
    TABLES.map(() => true),
  );
});

void test('the transformation compiles against each stream it reads and keeps every column', () => {
  for (const [streamName, declaration] of Object.entries(streamDeclarations())) {
    const compiled = new QueryCompiler(transformDatabase(declaration.columns)).compile(TRANSFORM_KQL);
    assert.deepEqual(
      compiled.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
      [],
      streamName,
    );
    const resultTypes = new Map(compiled.resultColumns?.map((column) => [column.name, column.type]));
    for (const column of declaration.columns) assert.ok(resultTypes.has(column.name), `${streamName}: ${column.name}`);
    assert.equal(resultTypes.get('TimeGenerated'), 'datetime');
  }
});

void test('the identity mcpwatch sends as gets Monitoring Metrics Publisher on the rule, and only when given', () => {
  const [assignment] = resourcesOf('Microsoft.Authorization/roleAssignments');
  assert.equal(assignment!.condition, "[not(empty(parameters('ingestionPrincipalId')))]");
  assert.equal(
    assignment!.scope,
    "[format('Microsoft.Insights/dataCollectionRules/{0}', parameters('dataCollectionRuleName'))]",
  );
  assert.equal(
    assignment!.properties.roleDefinitionId,
    `[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '${MONITORING_METRICS_PUBLISHER_ROLE_ID}')]`,
  );
  assert.equal(assignment!.properties.principalId, "[parameters('ingestionPrincipalId')]");
});

void test('every Sentinel analytics rule in dashboards/ is deployed, after the tables its query reads', async () => {
  const directory = new URL('../dashboards/sentinel/rules/', import.meta.url);
  const names = (await readdir(directory)).filter((name) => name.endsWith('.yaml')).sort();
  assert.ok(names.length > 0, 'no rules found under dashboards/sentinel/rules');
  const deployed = resourcesOf('Microsoft.SecurityInsights/alertRules');
  assert.equal(deployed.length, names.length);
  const tableIds = TABLES.map(
    (table) =>
      `[resourceId('Microsoft.OperationalInsights/workspaces/tables', parameters('workspaceName'), '${table.name}')]`,
  );
  for (const name of names) {
    const rule = parseYaml(await readFile(new URL(name, directory), 'utf8')) as {
      id: string;
      query: string;
      kind: string;
    };
    const resource = deployed.find((candidate) => candidate.name === rule.id);
    assert.ok(resource, `${name} is not in the template`);
    assert.equal(resource.kind, rule.kind);
    assert.equal(resource.properties.query, rule.query);
    assert.equal(resource.condition, "[parameters('deploySentinelContent')]");
    assert.equal(
      resource.scope,
      "[format('Microsoft.OperationalInsights/workspaces/{0}', parameters('workspaceName'))]",
    );
    assert.deepEqual(resource.dependsOn, tableIds);
    for (const duration of ['queryFrequency', 'queryPeriod', 'suppressionDuration']) {
      assert.match(String(resource.properties[duration]), /^P(\d+D)?(T(\d+H)?(\d+M)?)?$/, `${name}: ${duration}`);
    }
    for (const technique of resource.properties.techniques as string[]) assert.match(technique, /^T\d{4}$/);
  }
});

void test('ARM expressions name only declared parameters and resources the template deploys', () => {
  const text = files['mcpwatch.json']!;
  for (const [, name] of text.matchAll(/parameters\('([^']+)'\)/g)) {
    assert.ok(name! in arm.parameters, `undeclared parameter ${name}`);
  }
  const deployedIds = new Set(
    arm.resources.flatMap((resource) => {
      if (resource.type === 'Microsoft.Insights/dataCollectionRules') {
        return ["[resourceId('Microsoft.Insights/dataCollectionRules', parameters('dataCollectionRuleName'))]"];
      }
      const table = /^\[format\('\{0\}\/\{1\}', parameters\('workspaceName'\), '([^']+)'\)\]$/.exec(resource.name);
      return table === null ? [] : [`[resourceId('${resource.type}', parameters('workspaceName'), '${table[1]}')]`];
    }),
  );
  for (const resource of arm.resources) {
    for (const dependency of resource.dependsOn ?? []) assert.ok(deployedIds.has(dependency), dependency);
  }
});

void test('every ASIM parser in dashboards/parsers is deployed as a workspace function, after what it calls', async () => {
  const directory = new URL('../dashboards/parsers/', import.meta.url);
  const names = (await readdir(directory)).filter((name) => name.endsWith('.yaml'));
  const deployed = resourcesOf('Microsoft.OperationalInsights/workspaces/savedSearches');
  assert.equal(deployed.length, names.length);
  for (const name of names) {
    const parser = parseYaml(await readFile(new URL(name, directory), 'utf8')) as {
      ParserName: string;
      ParserQuery: string;
    };
    const resource = deployed.find((candidate) => candidate.name.includes(`'${parser.ParserName}'`));
    assert.ok(resource !== undefined, `${parser.ParserName} is not deployed`);
    const properties = resource.properties;
    assert.equal(properties.functionAlias, parser.ParserName);
    assert.equal(properties.query, parser.ParserQuery);
    assert.equal(properties.category, 'ASIM');
  }
  const asim = deployed.find((resource) => resource.name.includes("'ASimAgentEventMcpwatch'"))!;
  assert.ok(asim.dependsOn?.some((dependency) => dependency.includes("'vimAgentEventMcpwatch'")));
});

/** Brackets balanced outside Bicep strings (`'…'` with escapes, `'''…'''` verbatim): catches rendering slips. */
function unbalancedBicep(text: string): string | undefined {
  const stack: string[] = [];
  for (let index = 0; index < text.length; index++) {
    if (text.startsWith("'''", index)) {
      const end = text.indexOf("'''", index + 3);
      if (end < 0) return `unterminated ''' at ${index}`;
      index = end + 2;
    } else if (text[index] === "'") {
      index++;
      while (index < text.length && text[index] !== "'") index += text[index] === '\\' ? 2 : 1;
      if (text[index] !== "'") return `unterminated ' near ${index}`;
    } else if (text.startsWith('//', index)) {
      index = text.indexOf('\n', index);
    } else if ('{[('.includes(text[index]!)) stack.push(text[index]!);
    else if ('}])'.includes(text[index]!)) {
      const open = stack.pop();
      if (open !== { '}': '{', ']': '[', ')': '(' }[text[index] as '}' | ']' | ')'])
        return `mismatched ${text[index]} at ${index}`;
    }
  }
  return stack.length === 0 ? undefined : `unclosed ${stack.join('')}`;
}

void test('Bicep declares what ARM deploys, with balanced syntax and only declared symbols', () => {
  assert.equal(unbalancedBicep(bicep), undefined);
  const declared = new Set([...bicep.matchAll(/^(?:resource|param) (\w+) /gm)].map((match) => match[1]));
  assert.equal(
    [...bicep.matchAll(/^resource /gm)].length,
    arm.resources.length + 1,
    'one resource per ARM resource + workspace',
  );
  for (const name of Object.keys(arm.parameters)) assert.ok(declared.has(name), `param ${name}`);
  for (const [, symbol] of bicep.matchAll(/^\s+(?:parent|scope): (\w+)$/gm)) assert.ok(declared.has(symbol), symbol);
  for (const [, block] of bicep.matchAll(/dependsOn: \[\n([^\]]*)\]/g)) {
    for (const symbol of block!.trim().split(/\s+/)) assert.ok(declared.has(symbol), symbol);
  }
  for (const table of TABLES) {
    assert.ok(bicep.includes(`name: '${table.name}'`));
    assert.ok(bicep.includes(`'${table.streamName}': {`));
    for (const column of table.columns) assert.ok(bicep.includes(`name: '${column.name}'`), column.name);
  }
  assert.ok(bicep.includes(`transformKql: '${TRANSFORM_KQL}'`));
  assert.ok(bicep.includes("kind: 'Direct'"));
});

void test('every workbook in dashboards/workbooks is deployed as a shared Sentinel workbook over the workspace', async () => {
  const directory = new URL('../dashboards/workbooks/', import.meta.url);
  const names = (await readdir(directory).catch(() => [])).filter((name) => name.endsWith('.json')).sort();
  const deployed = resourcesOf('Microsoft.Insights/workbooks');
  assert.equal(deployed.length, names.length);
  for (const [index, name] of names.entries()) {
    const content: unknown = JSON.parse(await readFile(new URL(name, directory), 'utf8'));
    const resource = deployed[index]!;
    assert.deepEqual(JSON.parse(resource.properties.serializedData as string), content, name);
    assert.equal(resource.kind, 'shared');
    assert.equal(
      resource.properties.sourceId,
      "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]",
    );
  }
});

void test('the optional ASIM flows compile against the events stream and produce only ASIM columns of the right type', async () => {
  const asim = JSON.parse(await readFile(new URL('../dashboards/kql/asim-schema.json', import.meta.url), 'utf8')) as {
    tables: { name: string; columns: { name: string; type: string }[] }[];
  };
  assert.deepEqual(arm.variables.asimDataFlows, asimDataFlows());
  const columns = streamDeclarations()[EVENTS_TABLE.streamName]!.columns;
  const compiler = new QueryCompiler(transformDatabase(columns));
  for (const flow of asimDataFlows()) {
    assert.deepEqual(flow.streams, [EVENTS_TABLE.streamName]);
    const table = asim.tables.find((candidate) => `Microsoft-${candidate.name}` === flow.outputStream);
    assert.ok(table, `${flow.outputStream} is not an ASIM table`);
    const compiled = compiler.compile(flow.transformKql);
    assert.deepEqual(compiled.diagnostics, [], flow.outputStream);
    const types = new Map(table.columns.map((column) => [column.name, column.type]));
    for (const column of compiled.resultColumns ?? []) {
      assert.equal(column.type, types.get(column.name), `${flow.outputStream}.${column.name}`);
    }
    for (const required of [
      'TimeGenerated',
      'EventType',
      'EventResult',
      'EventProduct',
      'EventVendor',
      'EventSchema',
    ]) {
      assert.ok(
        compiled.resultColumns?.some((column) => column.name === required),
        `${flow.outputStream}: ${required}`,
      );
    }
  }
});
