/**
 * For each panel of the local dashboard, the KQL that shows the same in Microsoft Sentinel (over the tables
 * generated from the contracts). The page shows them; the dashboards validator compiles them.
 */
export const PANEL_KQL = {
  alerts: `MCPWatchAlerts_CL
| where TimeGenerated > ago(24h)
| summarize arg_max(TimeGenerated, *) by AlertId
| project TimeGenerated, Severity, RuleId, Title, EntitiesUser, EntitiesSession, EntitiesServer, EntitiesTool, Evidence
| order by TimeGenerated desc`,
  timeline: `MCPWatchAlerts_CL
| where TimeGenerated > ago(24h)
| summarize arg_max(TimeGenerated, *) by AlertId
| summarize Alerts = count() by bin(TimeGenerated, 1m), Severity
| render timechart`,
  byRule: `MCPWatchAlerts_CL
| where TimeGenerated > ago(24h)
| summarize arg_max(TimeGenerated, *) by AlertId
| summarize Alerts = count() by RuleId, Severity
| order by Alerts desc`,
  sessions: `MCPWatchEvents_CL
| where TimeGenerated > ago(24h) and isnotempty(SessionId)
| summarize Principals = make_set(PrincipalId, 10), Clients = make_set(ClientAddress, 10),
    Calls = countif(Kind == "call"), FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated)
    by SessionId, ServerName
| extend PrincipalCount = array_length(Principals)
| order by PrincipalCount desc, LastSeen desc`,
  catalog: `MCPWatchEvents_CL
| where TimeGenerated > ago(7d) and Kind == "tool-catalog"
| mv-expand Tool = Tools
| extend ToolName = tostring(Tool.name), ToolHash = tostring(Tool.hash)
| summarize Versions = dcount(ToolHash), Hashes = make_set(ToolHash, 20), FirstSeen = min(TimeGenerated),
    LastSeen = max(TimeGenerated) by ServerName, ToolName
| order by Versions desc, ServerName asc`,
} as const;

export type PanelName = keyof typeof PANEL_KQL;
