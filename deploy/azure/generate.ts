/**
 * Generates the Azure deployment of mcpwatch from the contracts, as Bicep (for people) and ARM JSON (for
 * `az deployment group create`), into `deploy/azure/generated/`: the custom tables, the data collection rule
 * (kind Direct) with its stream declarations, data flows and transformation, the Monitoring Metrics Publisher
 * role assignment for the identity mcpwatch runs as, and the Sentinel analytics rules, workbooks and ASIM parsers
 * (as workspace functions) from `dashboards/`. One model renders to both languages, so they cannot disagree.
 *
 * Run `npx tsx deploy/azure/generate.ts` after changing a contract, a rule or a workbook; the templates test
 * fails while the committed files are stale.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { EVENTS_TABLE, TABLES, type LogAnalyticsType, type TableSchema } from '../../contracts/log-analytics.ts';
import { AsimParser, parameterList } from '../../dashboards/validate/asim-parser.ts';
import { parentTechnique } from '../../dashboards/validate/attack.ts';
import { AnalyticsRule, durationMinutes, isoDuration } from '../../dashboards/validate/sentinel-rule.ts';
import {
  asimDataFlows,
  dataFlows,
  streamDeclarations,
  WORKSPACE_DESTINATION,
} from '../../dashboards/data-collection-rule.ts';

export const GENERATED_DIR = fileURLToPath(new URL('./generated/', import.meta.url));
const DASHBOARDS_DIR = fileURLToPath(new URL('../../dashboards/', import.meta.url));

export const API_VERSIONS = {
  workspace: '2022-10-01',
  tables: '2022-10-01',
  dataCollectionRules: '2023-03-11',
  roleAssignments: '2022-04-01',
  alertRules: '2023-02-01',
  workbooks: '2023-06-01',
  savedSearches: '2020-08-01',
} as const;

/** Built-in role that may send data to a data collection rule. */
export const MONITORING_METRICS_PUBLISHER_ROLE_ID = '3913510d-42f4-4e42-8a64-420c390055eb';

/** Tables API column types differ from stream declaration types in one spelling. */
export function tableColumnType(type: LogAnalyticsType): string {
  return type === 'datetime' ? 'dateTime' : type;
}

/** An ARM template language expression and the same in Bicep. */
class Expr {
  constructor(
    readonly arm: string,
    readonly bicep: string,
  ) {}
}

type Value = string | number | boolean | null | Expr | readonly Value[] | { readonly [key: string]: Value };

interface ResourceModel {
  /** Bicep symbolic name. */
  symbol: string;
  type: string;
  apiVersion: string;
  name: Value;
  /** ARM name (child resources carry their parent's name). */
  armName: Value;
  /** ARM `resourceId(...)` of this resource, for `dependsOn`. */
  armId: string;
  condition?: Expr;
  parent?: string;
  /** Extension resources: the resource they are scoped to, as `[ARM scope expression, Bicep symbol]`. */
  scope?: [string, string];
  dependsOn?: string[];
  body: { readonly [key: string]: Value };
}

interface ParameterModel {
  type: 'string' | 'bool' | 'int';
  description: string;
  defaultValue?: Value;
  allowedValues?: string[];
}

const parameter = (name: string): Expr => new Expr(`parameters('${name}')`, name);

const PARAMETERS: Record<string, ParameterModel> = {
  workspaceName: { type: 'string', description: 'The existing Log Analytics workspace (with Microsoft Sentinel).' },
  location: {
    type: 'string',
    description: 'Region of the data collection rule; the workspace region is the usual choice.',
    defaultValue: new Expr('resourceGroup().location', 'resourceGroup().location'),
  },
  dataCollectionRuleName: {
    type: 'string',
    description: 'Name of the data collection rule.',
    defaultValue: 'mcpwatch',
  },
  ingestionPrincipalId: {
    type: 'string',
    description:
      'Object id of the identity mcpwatch sends as (managed identity, workload identity or app); empty skips the role assignment.',
    defaultValue: '',
  },
  ingestionPrincipalType: {
    type: 'string',
    description: 'Kind of that identity.',
    defaultValue: 'ServicePrincipal',
    allowedValues: ['ServicePrincipal', 'Group', 'User'],
  },
  sendEventsToAsim: {
    type: 'bool',
    description:
      'Also transform the audit events into ASimAuthenticationEventLogs and ASimAuditEventLogs, for ASIM content (ingested twice).',
    defaultValue: false,
  },
  deploySentinelContent: {
    type: 'bool',
    description: 'Deploy the mcpwatch analytics rules, workbooks and ASIM parsers into the Sentinel workspace.',
    defaultValue: true,
  },
};

const symbolOf = (prefix: string, name: string): string =>
  prefix + name.replace(/(^|[^a-zA-Z0-9])([a-zA-Z0-9])/g, (_m, _s: string, letter: string) => letter.toUpperCase());

function tableResource(table: TableSchema): ResourceModel {
  return {
    symbol: symbolOf('table', table.name.replace(/_CL$/, '')),
    type: 'Microsoft.OperationalInsights/workspaces/tables',
    apiVersion: API_VERSIONS.tables,
    name: table.name,
    armName: new Expr(`format('{0}/{1}', parameters('workspaceName'), '${table.name}')`, ''),
    armId: `resourceId('Microsoft.OperationalInsights/workspaces/tables', parameters('workspaceName'), '${table.name}')`,
    parent: 'workspace',
    body: {
      properties: {
        plan: 'Analytics',
        schema: {
          name: table.name,
          description: table.description,
          columns: table.columns.map((column) => ({ name: column.name, type: tableColumnType(column.type) })),
        },
      },
    },
  };
}

const DCR_ID = `resourceId('Microsoft.Insights/dataCollectionRules', parameters('dataCollectionRuleName'))`;

function dataCollectionRuleResource(tables: readonly TableSchema[]): ResourceModel {
  return {
    symbol: 'dataCollectionRule',
    type: 'Microsoft.Insights/dataCollectionRules',
    apiVersion: API_VERSIONS.dataCollectionRules,
    name: parameter('dataCollectionRuleName'),
    armName: parameter('dataCollectionRuleName'),
    armId: DCR_ID,
    dependsOn: tables.map((table) => tableResource(table).symbol),
    body: {
      location: parameter('location'),
      kind: 'Direct',
      properties: {
        description: 'mcpwatch alerts and MCP audit events, sent with the Logs Ingestion API.',
        streamDeclarations: streamDeclarations(tables) as unknown as Value,
        destinations: {
          logAnalytics: [
            {
              name: WORKSPACE_DESTINATION,
              workspaceResourceId: new Expr(
                `resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))`,
                'workspace.id',
              ),
            },
          ],
        },
        dataFlows: new Expr(
          `concat(variables('customTableDataFlows'), if(parameters('sendEventsToAsim'), variables('asimDataFlows'), createArray()))`,
          'concat(customTableDataFlows, sendEventsToAsim ? asimDataFlows : [])',
        ),
      },
    },
  };
}

function roleAssignmentResource(): ResourceModel {
  const roleId = `'${MONITORING_METRICS_PUBLISHER_ROLE_ID}'`;
  return {
    symbol: 'ingestionRoleAssignment',
    type: 'Microsoft.Authorization/roleAssignments',
    apiVersion: API_VERSIONS.roleAssignments,
    condition: new Expr(`not(empty(parameters('ingestionPrincipalId')))`, `!empty(ingestionPrincipalId)`),
    scope: [
      `format('Microsoft.Insights/dataCollectionRules/{0}', parameters('dataCollectionRuleName'))`,
      'dataCollectionRule',
    ],
    name: new Expr(
      `guid(${DCR_ID}, parameters('ingestionPrincipalId'), ${roleId})`,
      `guid(dataCollectionRule.id, ingestionPrincipalId, ${roleId})`,
    ),
    armName: new Expr(`guid(${DCR_ID}, parameters('ingestionPrincipalId'), ${roleId})`, ''),
    armId: '',
    dependsOn: ['dataCollectionRule'],
    body: {
      properties: {
        roleDefinitionId: new Expr(
          `subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${roleId})`,
          `subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${roleId})`,
        ),
        principalId: parameter('ingestionPrincipalId'),
        principalType: parameter('ingestionPrincipalType'),
      },
    },
  };
}

const TRIGGER_OPERATORS = { gt: 'GreaterThan', lt: 'LessThan', eq: 'Equal', ne: 'NotEqual' } as const;

function iso(duration: string, where: string): string {
  const minutes = durationMinutes(duration);
  if (minutes === undefined) throw new Error(`${where}: ${duration} is not a duration`);
  return isoDuration(minutes);
}

/** One Azure-Sentinel YAML rule from `dashboards/sentinel/rules/` as a Scheduled (or NRT) alert rule resource. */
export function alertRuleResource(file: string, text: string, tables: readonly TableSchema[]): ResourceModel {
  const parsed = AnalyticsRule.safeParse(parseYaml(text));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const rule = parsed.data;
  const techniques = [...new Set(rule.relevantTechniques.map(parentTechnique).filter((id) => id !== undefined))];
  const grouping = rule.incidentConfiguration?.groupingConfiguration;
  const properties: Record<string, Value> = {
    displayName: rule.name,
    description: rule.description,
    severity: rule.severity,
    enabled: rule.status !== 'Disabled',
    query: rule.query,
    ...(rule.kind === 'Scheduled'
      ? {
          queryFrequency: iso(rule.queryFrequency ?? '1h', file),
          queryPeriod: iso(rule.queryPeriod ?? '1h', file),
          triggerOperator: TRIGGER_OPERATORS[rule.triggerOperator ?? 'gt'],
          triggerThreshold: rule.triggerThreshold ?? 0,
        }
      : {}),
    suppressionEnabled: rule.suppressionEnabled ?? false,
    suppressionDuration: iso(rule.suppressionDuration ?? '5h', file),
    tactics: rule.tactics,
    techniques,
    ...(rule.entityMappings === undefined ? {} : { entityMappings: rule.entityMappings }),
    ...(rule.customDetails === undefined ? {} : { customDetails: rule.customDetails }),
    ...(rule.alertDetailsOverride === undefined ? {} : { alertDetailsOverride: rule.alertDetailsOverride as Value }),
    ...(rule.eventGroupingSettings === undefined ? {} : { eventGroupingSettings: rule.eventGroupingSettings }),
    ...(rule.incidentConfiguration === undefined
      ? {}
      : {
          incidentConfiguration: {
            createIncident: rule.incidentConfiguration.createIncident,
            ...(grouping === undefined
              ? {}
              : { groupingConfiguration: { ...grouping, lookbackDuration: iso(grouping.lookbackDuration, file) } }),
          },
        }),
  };
  return {
    symbol: symbolOf(
      'rule',
      basename(file)
        .replace(/\.ya?ml$/, '')
        .replace(/^mcpwatch-/, ''),
    ),
    type: 'Microsoft.SecurityInsights/alertRules',
    apiVersion: API_VERSIONS.alertRules,
    condition: parameter('deploySentinelContent'),
    scope: [`format('Microsoft.OperationalInsights/workspaces/{0}', parameters('workspaceName'))`, 'workspace'],
    name: rule.id,
    armName: rule.id,
    armId: '',
    // Sentinel compiles the query on creation: the tables it reads must exist first.
    dependsOn: tables.map((table) => tableResource(table).symbol),
    body: { kind: rule.kind, properties },
  };
}

/** A workbook from `dashboards/workbooks/<name>.json` (the gallery template JSON) as a shared workbook. */
export function workbookResource(file: string, text: string): ResourceModel {
  const stem = basename(file, '.json');
  const name = new Expr(
    `guid(resourceGroup().id, 'mcpwatch-workbook', '${stem}')`,
    `guid(resourceGroup().id, 'mcpwatch-workbook', '${stem}')`,
  );
  return {
    symbol: symbolOf('workbook', stem),
    type: 'Microsoft.Insights/workbooks',
    apiVersion: API_VERSIONS.workbooks,
    condition: parameter('deploySentinelContent'),
    name,
    armName: name,
    armId: '',
    body: {
      location: parameter('location'),
      kind: 'shared',
      properties: {
        displayName: `MCPWatch - ${stem.replace(/^mcpwatch-/, '').replace(/-/g, ' ')}`,
        category: 'sentinel',
        serializedData: JSON.stringify(JSON.parse(text)),
        sourceId: new Expr(
          `resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))`,
          'workspace.id',
        ),
      },
    },
  };
}

/**
 * An ASIM parser from `dashboards/parsers/<ParserName>.yaml` as a workspace function (saved search with a
 * function alias), so that `vimAgentEventMcpwatch(...)` works in any query of the workspace. `ASim` parsers call
 * their `vim` parser, which must exist first.
 */
export function parserResource(file: string, text: string, tables: readonly TableSchema[]): ResourceModel {
  const parsed = AsimParser.safeParse(parseYaml(text));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const parser = parsed.data;
  const name = parser.ParserName;
  const called = name.startsWith('ASim') ? `vim${name.slice('ASim'.length)}` : undefined;
  return {
    symbol: symbolOf('parser', name),
    type: 'Microsoft.OperationalInsights/workspaces/savedSearches',
    apiVersion: API_VERSIONS.savedSearches,
    condition: parameter('deploySentinelContent'),
    name,
    armName: new Expr(`format('{0}/{1}', parameters('workspaceName'), '${name}')`, ''),
    armId: `resourceId('Microsoft.OperationalInsights/workspaces/savedSearches', parameters('workspaceName'), '${name}')`,
    parent: 'workspace',
    dependsOn: [
      ...tables.map((table) => tableResource(table).symbol),
      ...(called === undefined ? [] : [symbolOf('parser', called)]),
    ],
    body: {
      properties: {
        etag: '*',
        displayName: parser.Parser.Title,
        category: 'ASIM',
        functionAlias: name,
        functionParameters: parameterList(parser).slice(1, -1),
        query: parser.ParserQuery,
        version: 2,
      },
    },
  };
}

function contentFiles(directory: string, extensions: readonly string[]): { file: string; text: string }[] {
  let names: string[];
  try {
    names = readdirSync(join(DASHBOARDS_DIR, directory));
  } catch {
    return [];
  }
  return names
    .filter((name) => extensions.some((extension) => name.endsWith(extension)))
    .sort()
    .map((name) => ({
      file: `dashboards/${directory}/${name}`,
      text: readFileSync(join(DASHBOARDS_DIR, directory, name), 'utf8'),
    }));
}

export interface DeploymentModel {
  variables: Record<string, Value>;
  resources: ResourceModel[];
  outputs: Record<string, { type: 'string'; value: Expr | string }>;
}

export function deploymentModel(tables: readonly TableSchema[] = TABLES): DeploymentModel {
  const rules = contentFiles('sentinel/rules', ['.yaml', '.yml']).map(({ file, text }) =>
    alertRuleResource(file, text, tables),
  );
  const workbooks = contentFiles('workbooks', ['.json']).map(({ file, text }) => workbookResource(file, text));
  // Filtering parsers first: the ASim parsers depend on them.
  const parsers = contentFiles('parsers', ['.yaml'])
    .sort((a, b) => Number(!basename(a.file).startsWith('vim')) - Number(!basename(b.file).startsWith('vim')))
    .map(({ file, text }) => parserResource(file, text, tables));
  const reference = `reference(${DCR_ID}, '${API_VERSIONS.dataCollectionRules}')`;
  const events = tables.find((table) => table.streamName === EVENTS_TABLE.streamName);
  return {
    variables: {
      customTableDataFlows: dataFlows(tables) as unknown as Value,
      asimDataFlows: (events === undefined ? [] : asimDataFlows(events.streamName)) as unknown as Value,
    },
    resources: [
      ...tables.map(tableResource),
      dataCollectionRuleResource(tables),
      roleAssignmentResource(),
      ...rules,
      ...workbooks,
      ...parsers,
    ],
    outputs: {
      logsIngestionEndpoint: {
        type: 'string',
        value: new Expr(
          `${reference}.endpoints.logsIngestion`,
          'dataCollectionRule.properties.endpoints.logsIngestion',
        ),
      },
      dataCollectionRuleImmutableId: {
        type: 'string',
        value: new Expr(`${reference}.immutableId`, 'dataCollectionRule.properties.immutableId'),
      },
      ...Object.fromEntries(
        tables.map((table) => [streamOutputName(table), { type: 'string' as const, value: table.streamName }]),
      ),
    },
  };
}

/** `MCPWatchAlerts_CL` → `alertsStream`. */
function streamOutputName(table: TableSchema): string {
  const noun = table.name.replace(/^MCPWatch/, '').replace(/_CL$/, '');
  return noun.charAt(0).toLowerCase() + noun.slice(1) + 'Stream';
}

const HEADER = 'Generated by deploy/azure/generate.ts from the mcpwatch contracts and dashboards/. Do not edit.';

// ---- ARM JSON ----

function armValue(value: Value): unknown {
  if (value instanceof Expr) return `[${value.arm}]`;
  // A literal string starting with `[` would be read as an expression; ARM escapes it as `[[`.
  if (typeof value === 'string') return value.startsWith('[') ? `[${value}` : value;
  if (Array.isArray(value)) return value.map(armValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, armValue(child)]));
  }
  return value;
}

export function armTemplate(model: DeploymentModel = deploymentModel()): Record<string, unknown> {
  const ids = new Map(model.resources.map((resource) => [resource.symbol, resource.armId]));
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    metadata: { description: HEADER },
    parameters: Object.fromEntries(
      Object.entries(PARAMETERS).map(([name, model]) => [
        name,
        {
          type: model.type,
          ...(model.defaultValue === undefined ? {} : { defaultValue: armValue(model.defaultValue) }),
          ...(model.allowedValues === undefined ? {} : { allowedValues: model.allowedValues }),
          metadata: { description: model.description },
        },
      ]),
    ),
    variables: Object.fromEntries(Object.entries(model.variables).map(([name, value]) => [name, armValue(value)])),
    resources: model.resources.map((resource) => ({
      ...(resource.condition === undefined ? {} : { condition: armValue(resource.condition) }),
      type: resource.type,
      apiVersion: resource.apiVersion,
      ...(resource.scope === undefined ? {} : { scope: `[${resource.scope[0]}]` }),
      name: armValue(resource.armName),
      ...(armValue(resource.body) as object),
      ...(resource.dependsOn === undefined
        ? {}
        : { dependsOn: resource.dependsOn.map((symbol) => `[${ids.get(symbol)!}]`) }),
    })),
    outputs: Object.fromEntries(
      Object.entries(model.outputs).map(([name, output]) => [
        name,
        { type: output.type, value: armValue(output.value) },
      ]),
    ),
  };
}

// ---- Bicep ----

function bicepString(text: string): string {
  if (text.includes('\n') && !text.includes("'''")) {
    // Multi-line strings are verbatim: no escapes, no interpolation.
    return `'''\n${text}${text.endsWith('\n') ? '' : '\n'}'''`;
  }
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;
}

function bicepKey(key: string): string {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key) ? key : bicepString(key);
}

function bicepValue(value: Value, indent: string): string {
  if (value instanceof Expr) return value.bicep;
  if (typeof value === 'string') return bicepString(value);
  if (value === null) return 'null';
  if (typeof value !== 'object') return String(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item: Value) => inner + bicepValue(item, inner)).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, Value>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([key, child]) => `${inner}${bicepKey(key)}: ${bicepValue(child, inner)}`).join('\n')}\n${indent}}`;
}

export function bicepTemplate(model: DeploymentModel = deploymentModel()): string {
  const lines: string[] = [`// ${HEADER}`, "targetScope = 'resourceGroup'", ''];
  for (const [name, parameterModel] of Object.entries(PARAMETERS)) {
    lines.push(`@description(${bicepString(parameterModel.description)})`);
    if (parameterModel.allowedValues !== undefined) {
      lines.push(`@allowed(${bicepValue(parameterModel.allowedValues, '')})`);
    }
    const defaultValue =
      parameterModel.defaultValue === undefined ? '' : ` = ${bicepValue(parameterModel.defaultValue, '')}`;
    lines.push(`param ${name} ${parameterModel.type}${defaultValue}`, '');
  }
  for (const [name, value] of Object.entries(model.variables)) lines.push(`var ${name} = ${bicepValue(value, '')}`, '');
  lines.push(
    `resource workspace 'Microsoft.OperationalInsights/workspaces@${API_VERSIONS.workspace}' existing = {`,
    '  name: workspaceName',
    '}',
    '',
  );
  for (const resource of model.resources) {
    const condition = resource.condition === undefined ? '' : `if (${resource.condition.bicep}) `;
    lines.push(`resource ${resource.symbol} '${resource.type}@${resource.apiVersion}' = ${condition}{`);
    if (resource.parent !== undefined) lines.push(`  parent: ${resource.parent}`);
    if (resource.scope !== undefined) lines.push(`  scope: ${resource.scope[1]}`);
    lines.push(`  name: ${bicepValue(resource.name, '  ')}`);
    for (const [key, value] of Object.entries(resource.body)) lines.push(`  ${key}: ${bicepValue(value, '  ')}`);
    const implicit = new Set([resource.parent, resource.scope?.[1]]);
    const dependsOn = (resource.dependsOn ?? []).filter((symbol) => !implicit.has(symbol));
    if (dependsOn.length > 0)
      lines.push(`  dependsOn: [\n${dependsOn.map((symbol) => `    ${symbol}`).join('\n')}\n  ]`);
    lines.push('}', '');
  }
  for (const [name, output] of Object.entries(model.outputs)) {
    lines.push(`output ${name} ${output.type} = ${bicepValue(output.value, '')}`);
  }
  return lines.join('\n') + '\n';
}

/** File name → content, exactly as committed under `deploy/azure/generated/`. */
export function generatedFiles(): Record<string, string> {
  const model = deploymentModel();
  return {
    'mcpwatch.json': JSON.stringify(armTemplate(model), null, 2) + '\n',
    'mcpwatch.bicep': bicepTemplate(model),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(GENERATED_DIR, { recursive: true });
  for (const [name, content] of Object.entries(generatedFiles())) {
    await writeFile(GENERATED_DIR + name, content);
    console.log(`wrote deploy/azure/generated/${name}`);
  }
}
