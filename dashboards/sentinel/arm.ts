/**
 * Sentinel analytics rules (Azure-Sentinel YAML) converted to ARM resources for the deployment templates: the
 * same mapping the Azure-Sentinel repository's converter applies (durations to ISO 8601, operators to their
 * ARM names, technique ids split into techniques and sub-techniques).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { McpwatchError } from '../../contracts/errors.ts';
import { parentTechnique } from '../validate/attack.ts';
import { AnalyticsRule, durationMinutes, isoDuration } from '../validate/sentinel-rule.ts';

/** `Microsoft.SecurityInsights/alertRules` API version with sub-techniques, custom details and grouping. */
export const ALERT_RULES_API_VERSION = '2023-12-01-preview';

/** Template parameter that names the Log Analytics workspace Sentinel runs on. */
export const WORKSPACE_PARAMETER = 'workspaceName';

const TRIGGER_OPERATORS = { gt: 'GreaterThan', lt: 'LessThan', eq: 'Equal', ne: 'NotEqual' } as const;

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  kind: string;
  properties: Record<string, unknown>;
}

function iso(text: string): string {
  const minutes = durationMinutes(text);
  if (minutes === undefined) throw new McpwatchError('CONFIG_INVALID', `${JSON.stringify(text)} is not a duration`);
  return isoDuration(minutes);
}

export function analyticsRuleResource(rule: AnalyticsRule): ArmResource {
  const techniques = [...new Set(rule.relevantTechniques.map((id) => parentTechnique(id) ?? id))];
  const subTechniques = rule.relevantTechniques.filter((id) => id.includes('.'));
  const grouping = rule.incidentConfiguration?.groupingConfiguration;
  const properties: Record<string, unknown> = {
    displayName: rule.name,
    description: rule.description.trim(),
    severity: rule.severity,
    enabled: rule.status !== 'Disabled',
    query: rule.query,
    tactics: rule.tactics,
    techniques,
    subTechniques,
    suppressionEnabled: rule.suppressionEnabled ?? false,
    suppressionDuration: iso(rule.suppressionDuration ?? '5h'),
    templateVersion: rule.version,
  };
  if (rule.kind === 'Scheduled') {
    Object.assign(properties, {
      queryFrequency: iso(rule.queryFrequency ?? ''),
      queryPeriod: iso(rule.queryPeriod ?? ''),
      triggerOperator: TRIGGER_OPERATORS[rule.triggerOperator ?? 'gt'],
      triggerThreshold: rule.triggerThreshold ?? 0,
    });
  }
  if (rule.entityMappings !== undefined) properties['entityMappings'] = rule.entityMappings;
  if (rule.customDetails !== undefined) properties['customDetails'] = rule.customDetails;
  if (rule.alertDetailsOverride !== undefined) properties['alertDetailsOverride'] = rule.alertDetailsOverride;
  if (rule.eventGroupingSettings !== undefined) properties['eventGroupingSettings'] = rule.eventGroupingSettings;
  if (rule.incidentConfiguration !== undefined) {
    properties['incidentConfiguration'] = {
      createIncident: rule.incidentConfiguration.createIncident,
      ...(grouping === undefined
        ? {}
        : { groupingConfiguration: { ...grouping, lookbackDuration: iso(grouping.lookbackDuration) } }),
    };
  }
  return {
    type: 'Microsoft.OperationalInsights/workspaces/providers/alertRules',
    apiVersion: ALERT_RULES_API_VERSION,
    name: `[concat(parameters('${WORKSPACE_PARAMETER}'), '/Microsoft.SecurityInsights/', '${rule.id}')]`,
    kind: rule.kind,
    properties,
  };
}

/** Reads and parses every rule in `rulesDir`. Run `validateDashboards` first: this only refuses malformed files. */
export async function loadAnalyticsRules(rulesDir: string): Promise<AnalyticsRule[]> {
  const files = (await readdir(rulesDir)).filter((file) => file.endsWith('.yaml') || file.endsWith('.yml')).sort();
  const rules: AnalyticsRule[] = [];
  for (const file of files) {
    const parsed = AnalyticsRule.safeParse(parse(await readFile(path.join(rulesDir, file), 'utf8')));
    if (!parsed.success) {
      throw new McpwatchError(
        'CONFIG_INVALID',
        `${file}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
    }
    rules.push(parsed.data);
  }
  return rules;
}

/** A deployment template with one resource per rule, deployed to the workspace's resource group. */
export function analyticsRulesTemplate(rules: readonly AnalyticsRule[]): Record<string, unknown> {
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    parameters: {
      [WORKSPACE_PARAMETER]: {
        type: 'string',
        metadata: { description: 'Log Analytics workspace with Microsoft Sentinel.' },
      },
    },
    resources: rules.map(analyticsRuleResource),
  };
}
