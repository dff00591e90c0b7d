/**
 * The data collection rule mcpwatch deploys, derived from the Log Analytics tables (the one source of truth):
 * stream declarations, data flows and the transformation. The templates, the sink defaults and the local
 * Logs Ingestion stand-in all read it from here.
 */
import { EVENTS_TABLE, TABLES, type LogAnalyticsType, type TableSchema } from '../contracts/log-analytics.ts';

/** The Logs Ingestion API version the sink and the stand-in speak. */
export const LOGS_INGESTION_API_VERSION = '2023-01-01';

/** Per request, compressed or not (Azure Monitor service limits, Logs Ingestion API). */
export const LOGS_INGESTION_MAX_REQUEST_BYTES = 1_048_576;

/**
 * Applied by the data collection rule to every stream. Kept trivial so it compiles against each stream's
 * declaration; `TimeGenerated` is declared `datetime` in the stream already, `todatetime` keeps it so when a
 * row carries the ISO string.
 */
export const TRANSFORM_KQL = 'source | extend TimeGenerated = todatetime(TimeGenerated)';

export interface StreamColumn {
  name: string;
  type: LogAnalyticsType;
}

export interface StreamDeclaration {
  columns: StreamColumn[];
}

export interface DataFlow {
  streams: string[];
  destinations: string[];
  transformKql: string;
  outputStream: string;
}

/** Name of the Log Analytics destination inside the rule. */
export const WORKSPACE_DESTINATION = 'mcpwatchWorkspace';

export function streamDeclarations(tables: readonly TableSchema[] = TABLES): Record<string, StreamDeclaration> {
  return Object.fromEntries(
    tables.map((table) => [
      table.streamName,
      { columns: table.columns.map((column) => ({ name: column.name, type: column.type })) },
    ]),
  );
}

export function dataFlows(tables: readonly TableSchema[] = TABLES): DataFlow[] {
  return tables.map((table) => ({
    streams: [table.streamName],
    destinations: [WORKSPACE_DESTINATION],
    transformKql: TRANSFORM_KQL,
    outputStream: `Custom-${table.name}`,
  }));
}

/** The table a stream lands in, or undefined when the rule declares no such stream. */
export function tableOfStream(streamName: string, tables: readonly TableSchema[] = TABLES): TableSchema | undefined {
  return tables.find((table) => table.streamName === streamName);
}

/**
 * Optional data flows that also put the audit events into the ASIM-native tables, so that existing ASIM content
 * (`imAuthentication`, `imAuditEvent` parsers, Sentinel's ASIM analytics) sees MCP authentication and tool calls.
 * They read the same stream as the custom events table; the deployment adds them when `sendEventsToAsim` is set.
 * Field meanings follow the ASIM Authentication (0.1.3) and Audit Event (0.1) schemas.
 */
export const ASIM_AUTHENTICATION_KQL = [
  'source',
  '| where Kind == "auth"',
  '| extend EventTime = todatetime(TimeGenerated)',
  '| project TimeGenerated = EventTime, EventStartTime = EventTime, EventEndTime = EventTime, EventCount = toint(1),',
  '    EventType = "Logon",',
  '    EventResult = case(Outcome == "accepted", "Success", Outcome == "rejected", "Failure", "NA"),',
  '    EventResultDetails = Reason, EventOriginalResultDetails = Outcome, EventOriginalUid = EventId,',
  '    EventProduct = "mcpwatch", EventVendor = "mcpwatch", EventSchema = "Authentication", EventSchemaVersion = "0.1.3",',
  '    TargetUsername = PrincipalId, TargetUsernameType = "Simple", TargetSessionId = SessionId,',
  '    TargetAppName = ServerName, TargetAppType = "Service", TargetUrl = ServerResource,',
  '    SrcIpAddr = ClientAddress, HttpUserAgent = ClientUserAgent, ActingAppName = ClientName, LogonProtocol = "OAuth 2.0",',
  '    AdditionalFields = bag_pack("TokenFingerprint", TokenFingerprint, "TokenIssuer", TokenIssuer,',
  '        "TokenAudience", TokenAudience, "AudienceMatchesServer", AudienceMatchesServer)',
].join('\n');

export const ASIM_AUDIT_KQL = [
  'source',
  '| where Kind == "call"',
  '| extend EventTime = todatetime(TimeGenerated)',
  '| project TimeGenerated = EventTime, EventStartTime = EventTime, EventEndTime = EventTime, EventCount = toint(1),',
  '    EventType = "Execute", EventResult = iff(Outcome == "ok", "Success", "Failure"), EventResultDetails = ErrorType,',
  '    EventOriginalUid = EventId, EventProduct = "mcpwatch", EventVendor = "mcpwatch", EventSchema = "AuditEvent",',
  '    EventSchemaVersion = "0.1", Operation = Method, Object = Tool, ObjectType = "Other",',
  '    ActorUsername = PrincipalId, ActorUsernameType = "Simple", ActorSessionId = SessionId,',
  '    ActingAppName = ClientName, SrcIpAddr = ClientAddress, HttpUserAgent = ClientUserAgent,',
  '    TargetAppName = ServerName, TargetAppType = "Service", TargetUrl = ServerResource,',
  '    AdditionalFields = bag_pack("DurationMs", DurationMs, "Authenticated", Authenticated, "TokenFingerprint", TokenFingerprint)',
].join('\n');

/** The ASIM data flows, from the events stream. */
export function asimDataFlows(eventsStream: string = EVENTS_TABLE.streamName): DataFlow[] {
  return [
    {
      streams: [eventsStream],
      destinations: [WORKSPACE_DESTINATION],
      transformKql: ASIM_AUTHENTICATION_KQL,
      outputStream: 'Microsoft-ASimAuthenticationEventLogs',
    },
    {
      streams: [eventsStream],
      destinations: [WORKSPACE_DESTINATION],
      transformKql: ASIM_AUDIT_KQL,
      outputStream: 'Microsoft-ASimAuditEventLogs',
    },
  ];
}
