/**
 * The OCSF mapping of the contracts, for SIEMs that read the Open Cybersecurity Schema Framework (AWS Security
 * Lake, Splunk, Google SecOps, …). Targets OCSF 1.8.0, the newest stable release and the first with the
 * `ai_operation` profile (`message_context`, written with MCP in mind).
 *
 * - An `Alert` becomes a Detection Finding (class 2004, activity Create): `finding_info.analytic` carries the rule
 *   id and version, `finding_info.attacks` the ATT&CK / ATLAS techniques, `finding_info.tags` the OWASP MCP Top
 *   10 ids, `evidences[0]` the entities and the alert's evidence, `observables` the entities an analyst pivots on.
 * - An `McpEvent` becomes an API Activity (class 6003) with the `ai_operation` profile (and `trace` when the event
 *   has a trace id): the MCP method is `api.operation`, the session the `message_context`, the principal the
 *   actor, the server the destination, a classifier verdict's judge the `ai_model`. Kind-specific facts with no
 *   OCSF attribute go to `unmapped`.
 *
 * Pure functions: the same input gives the same record. Never carries more than the contracts do, so a raw token
 * or secret cannot appear here either.
 */
import { isIP } from 'node:net';
import type { Alert, Severity } from './alert.ts';
import type { McpEvent } from './mcp-event.ts';

/** The OCSF schema version the records declare in `metadata.version`. */
export const OCSF_VERSION = '1.8.0';

export const OCSF_DETECTION_FINDING = { categoryUid: 2, classUid: 2004, className: 'Detection Finding' } as const;
export const OCSF_API_ACTIVITY = { categoryUid: 6, classUid: 6003, className: 'API Activity' } as const;

/** An OCSF record as JSON: the classification attributes every class has, and the rest. */
export interface OcsfRecord {
  category_uid: number;
  class_uid: number;
  activity_id: number;
  type_uid: number;
  severity_id: number;
  time: number;
  metadata: Record<string, unknown>;
  [attribute: string]: unknown;
}

export interface OcsfOptions {
  /** mcpwatch's own version, for `metadata.product.version`. */
  productVersion?: string;
}

const SEVERITY_IDS: Record<Severity, { id: number; caption: string }> = {
  informational: { id: 1, caption: 'Informational' },
  low: { id: 2, caption: 'Low' },
  medium: { id: 3, caption: 'Medium' },
  high: { id: 4, caption: 'High' },
  critical: { id: 5, caption: 'Critical' },
};

/** Observable type ids of OCSF 1.8.0 used here (`observable` markers in the schema's types and objects). */
const OBSERVABLE = { ipAddress: 2, userUid: 31, resourceName: 38, other: 99 } as const;

function metadata(uid: string, profiles: readonly string[], options: OcsfOptions): Record<string, unknown> {
  return {
    version: OCSF_VERSION,
    uid,
    product: {
      name: 'mcpwatch',
      vendor_name: 'mcpwatch',
      ...(options.productVersion === undefined ? {} : { version: options.productVersion }),
    },
    ...(profiles.length === 0 ? {} : { profiles: [...profiles] }),
  };
}

/** `T1550.001` → technique `T1550` + sub-technique; ATLAS ids (`AML.T0051.001`) the same way. */
function attackOf(techniqueId: string): Record<string, unknown> {
  const parts = /^(.*T\d{4})\.(\d{3})$/.exec(techniqueId);
  return parts === null
    ? { technique: { uid: techniqueId } }
    : { technique: { uid: parts[1]! }, sub_technique: { uid: techniqueId } };
}

function ipOrUndefined(value: string | undefined): string | undefined {
  return value !== undefined && isIP(value) !== 0 ? value : undefined;
}

/** An alert as an OCSF Detection Finding (2004, activity 1 Create). */
export function alertToOcsf(alert: Alert, options: OcsfOptions = {}): OcsfRecord {
  const { user, session, server, tool, client } = alert.entities;
  const ip = ipOrUndefined(alert.entities.ip);
  const severity = SEVERITY_IDS[alert.severity];
  const { classUid, categoryUid, className } = OCSF_DETECTION_FINDING;

  const actor = {
    ...(user === undefined ? {} : { user: { uid: user } }),
    ...(session === undefined ? {} : { session: { uid: session } }),
    ...(client === undefined ? {} : { app_name: client }),
  };
  const resources = [
    ...(server === undefined ? [] : [{ name: server, type: 'MCP Server' }]),
    ...(tool === undefined ? [] : [{ name: tool, type: 'MCP Tool' }]),
  ];
  const evidence = {
    data: alert.evidence,
    ...(Object.keys(actor).length === 0 ? {} : { actor }),
    ...(ip === undefined ? {} : { src_endpoint: { ip } }),
    ...(server === undefined ? {} : { dst_endpoint: { name: server } }),
  };
  const observables = [
    ...(user === undefined ? [] : [{ name: 'evidences.actor.user.uid', type_id: OBSERVABLE.userUid, value: user }]),
    ...(session === undefined
      ? []
      : [{ name: 'evidences.actor.session.uid', type_id: OBSERVABLE.other, type: 'MCP Session', value: session }]),
    ...(client === undefined
      ? []
      : [{ name: 'evidences.actor.app_name', type_id: OBSERVABLE.other, type: 'MCP Client', value: client }]),
    ...(ip === undefined ? [] : [{ name: 'evidences.src_endpoint.ip', type_id: OBSERVABLE.ipAddress, value: ip }]),
    ...resources.map((resource) => ({
      name: 'resources.name',
      type_id: OBSERVABLE.resourceName,
      value: resource.name,
    })),
  ];
  const unmappedEntities = Object.fromEntries(
    Object.entries(alert.entities).filter(
      ([name, value]) =>
        !['user', 'session', 'server', 'tool', 'client', 'ip'].includes(name) ||
        (name === 'ip' && value !== undefined && ip === undefined),
    ),
  );

  return {
    category_uid: categoryUid,
    category_name: 'Findings',
    class_uid: classUid,
    class_name: className,
    activity_id: 1,
    activity_name: 'Create',
    type_uid: classUid * 100 + 1,
    type_name: `${className}: Create`,
    severity_id: severity.id,
    severity: severity.caption,
    time: Date.parse(alert.time),
    message: alert.title,
    count: alert.count,
    status_id: 1,
    status: 'New',
    is_alert: true,
    metadata: metadata(alert.alertId, [], options),
    finding_info: {
      uid: alert.alertId,
      title: alert.title,
      desc: alert.description,
      analytic: {
        uid: alert.ruleId,
        name: alert.ruleId,
        type_id: 1,
        type: 'Rule',
        version: String(alert.ruleVersion),
      },
      ...(alert.attack.length === 0 ? {} : { attacks: alert.attack.map(attackOf) }),
      ...(alert.owasp.length === 0 ? {} : { tags: [{ name: 'owasp_mcp_top_10', values: [...alert.owasp] }] }),
      ...(alert.eventIds.length === 0 ? {} : { related_events: alert.eventIds.map((uid) => ({ uid })) }),
    },
    evidences: [evidence],
    ...(resources.length === 0 ? {} : { resources }),
    ...(observables.length === 0 ? {} : { observables }),
    ...(Object.keys(unmappedEntities).length === 0 ? {} : { unmapped: { entities: unmappedEntities } }),
  };
}

const API_ACTIVITY_CAPTIONS: Record<number, string> = { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete' };

/** MCP methods that only read: the client lists or fetches what the server offers. */
function isReadMethod(method: string): boolean {
  return method.endsWith('/list') || method === 'resources/read' || method === 'prompts/get';
}

interface ApiFacts {
  operation: string;
  /** 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other. */
  activityId: number;
  /** 1 Success, 2 Failure, 99 Other; absent when the event says nothing of an outcome. */
  statusId?: number;
  statusDetail?: string;
  unmapped: Record<string, unknown>;
}

function apiFactsOf(event: McpEvent): ApiFacts {
  switch (event.kind) {
    case 'call':
      return {
        operation: event.method,
        activityId: isReadMethod(event.method) ? 2 : 99,
        statusId: event.outcome === 'ok' ? 1 : 2,
        ...(event.errorType === undefined ? {} : { statusDetail: event.errorType }),
        unmapped: {
          kind: event.kind,
          outcome: event.outcome,
          ...pick(event, ['prompt', 'protocolVersion', 'authenticated', 'tokenFingerprint', 'scopes']),
          ...pick(event, ['stateless', 'resultType', 'mcpHeaders']),
          ...pick(event, ['arguments', 'result']),
        },
      };
    case 'auth':
      return {
        operation: 'authenticate',
        activityId: 99,
        statusId: event.outcome === 'accepted' ? 1 : event.outcome === 'rejected' ? 2 : 99,
        ...(event.reason === undefined ? {} : { statusDetail: event.reason }),
        unmapped: { kind: event.kind, outcome: event.outcome, ...pick(event, ['token', 'audienceMatchesServer']) },
      };
    case 'session':
      return {
        operation: `session ${event.action}`,
        activityId: event.action === 'created' ? 1 : event.action === 'closed' ? 4 : 99,
        unmapped: {
          kind: event.kind,
          action: event.action,
          ...pick(event, ['idAssessment', 'boundPrincipalId', 'boundClientAddress']),
        },
      };
    case 'tool-catalog':
      return {
        operation: event.trigger === 'tools/list' ? 'tools/list' : 'notifications/tools/list_changed',
        activityId: 2,
        statusId: 1,
        unmapped: {
          kind: event.kind,
          trigger: event.trigger,
          listHash: event.listHash,
          tools: event.tools.map((tool) => ({ name: tool.name, hash: tool.hash })),
          ...pick(event, ['instructionsHash', 'protocolVersion']),
        },
      };
    case 'outbound-request':
      return {
        operation: `outbound ${event.method ?? 'request'}`,
        activityId: 99,
        unmapped: {
          kind: event.kind,
          destinationHost: event.destinationHost,
          tokenFingerprint: event.tokenFingerprint,
        },
      };
    case 'enforcement':
      // The gateway's decision about a tool: a block is a refused operation, a pin or approval a granted one.
      return {
        operation: `enforcement ${event.action}`,
        activityId: 99,
        statusId: event.action === 'blocked' ? 2 : 1,
        statusDetail: event.reason,
        unmapped: {
          kind: event.kind,
          action: event.action,
          reason: event.reason,
          tool: event.tool,
          ...pick(event, ['definitionHash', 'pinnedHash', 'signals', 'appliedTo']),
        },
      };
    case 'input-request':
      return {
        operation: `input request ${event.inputMethod}`,
        activityId: 99,
        unmapped: {
          kind: event.kind,
          delivery: event.delivery,
          inputMethod: event.inputMethod,
          ...pick(event, ['inputKey', 'method', 'requestId', 'tool', 'prompt', 'resourceUri', 'tokenFingerprint']),
          ...pick(event, ['elicitationMode', 'message', 'requestedFields', 'url', 'urlHost']),
        },
      };
    case 'classification':
      // A classifier's verdict on content of an earlier event (its `sourceEventId`); an attack is a failed check.
      return {
        operation: `classify ${event.subject}`,
        activityId: 99,
        statusId: event.attackDetected ? 2 : 1,
        statusDetail: event.attackDetected ? 'attack detected' : 'no attack detected',
        unmapped: {
          kind: event.kind,
          backend: event.backend,
          subject: event.subject,
          sourceEventId: event.sourceEventId,
          contentHash: event.contentHash,
          attackDetected: event.attackDetected,
          ...pick(event, ['tool', 'confidence', 'category', 'rationale', 'truncated', 'cached']),
        },
      };
  }
}

/** The model that judged content (`ai_model` needs a provider and a name). */
function judgeModel(
  backend: Extract<McpEvent, { kind: 'classification' }>['backend'],
  model: string | undefined,
): Record<string, unknown> {
  return backend === 'prompt-shields'
    ? { name: model ?? 'Azure AI Content Safety Prompt Shields', ai_provider: 'Microsoft' }
    : // A judge the operator serves (llama.cpp, vLLM, Ollama) behind an OpenAI-compatible API.
      { name: model ?? 'unknown', ai_provider: 'OpenAI-compatible endpoint' };
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

/** An audit event as an OCSF API Activity (6003) with the `ai_operation` profile. */
export function eventToOcsf(event: McpEvent, options: OcsfOptions = {}): OcsfRecord {
  const facts = apiFactsOf(event);
  const { classUid, categoryUid, className } = OCSF_API_ACTIVITY;
  const activityName = API_ACTIVITY_CAPTIONS[facts.activityId] ?? facts.operation;
  const address = event.client?.address;
  const clientIp = ipOrUndefined(address);
  const tool = event.kind === 'call' || event.kind === 'classification' ? event.tool : undefined;
  const resourceUri = event.kind === 'call' ? event.resourceUri : undefined;
  const requestId = event.kind === 'call' ? event.requestId : undefined;
  const clientName = event.client?.name;
  const service = {
    name: event.server.name,
    ...(event.server.version === undefined ? {} : { version: event.server.version }),
    ...(event.server.instanceId === undefined ? {} : { uid: event.server.instanceId }),
  };

  const actor = {
    ...(event.principal === undefined
      ? {}
      : {
          user: { uid: event.principal.id },
          ...(event.principal.issuer === undefined ? {} : { idp: { name: event.principal.issuer } }),
        }),
    ...(event.sessionId === undefined ? {} : { session: { uid: event.sessionId } }),
    // OCSF needs an actor; with no principal, session or client name the caller is unknown, and says so.
    app_name: clientName ?? (event.kind === 'outbound-request' ? event.server.name : 'unknown'),
  };
  const srcEndpoint =
    clientIp !== undefined
      ? { ip: clientIp }
      : { name: address ?? clientName ?? (event.transport === 'stdio' ? 'stdio' : 'unknown') };
  const dstEndpoint =
    event.kind === 'outbound-request'
      ? { hostname: event.destinationHost }
      : {
          name: event.server.name,
          ...(event.server.host === undefined ? {} : { hostname: event.server.host }),
          ...(event.server.instanceId === undefined ? {} : { instance_uid: event.server.instanceId }),
        };
  const resources = [
    ...(tool === undefined ? [] : [{ name: tool, type: 'MCP Tool' }]),
    ...(resourceUri === undefined ? [] : [{ name: resourceUri, type: 'MCP Resource' }]),
  ];
  const messageContext = {
    ...(event.sessionId === undefined ? {} : { uid: event.sessionId }),
    ...(tool === undefined ? {} : { ai_role_id: 3, ai_role: 'Tool' }),
    service,
    ...(clientName === undefined
      ? {}
      : {
          application: {
            name: clientName,
            ...(event.client?.version === undefined ? {} : { version: event.client.version }),
          },
        }),
  };
  const aiModel = event.kind === 'classification' ? judgeModel(event.backend, event.model) : undefined;
  const profiles = event.traceId === undefined ? ['ai_operation'] : ['ai_operation', 'trace'];

  return {
    category_uid: categoryUid,
    category_name: 'Application Activity',
    class_uid: classUid,
    class_name: className,
    activity_id: facts.activityId,
    activity_name: activityName,
    type_uid: classUid * 100 + facts.activityId,
    type_name: `${className}: ${activityName}`,
    severity_id: 1,
    severity: 'Informational',
    time: Date.parse(event.time),
    ...(event.kind === 'call' ? { duration: Math.round(event.durationMs) } : {}),
    ...(facts.statusId === undefined
      ? {}
      : {
          status_id: facts.statusId,
          status: facts.statusId === 1 ? 'Success' : facts.statusId === 2 ? 'Failure' : 'Other',
        }),
    ...(facts.statusDetail === undefined ? {} : { status_detail: facts.statusDetail }),
    metadata: metadata(event.eventId, profiles, options),
    actor,
    api: {
      operation: facts.operation,
      service,
      ...(requestId === undefined ? {} : { request: { uid: requestId } }),
      ...(event.kind === 'call' && event.protocolVersion !== undefined ? { version: event.protocolVersion } : {}),
    },
    src_endpoint: srcEndpoint,
    dst_endpoint: dstEndpoint,
    ...(event.client?.userAgent === undefined ? {} : { http_request: { user_agent: event.client.userAgent } }),
    ...(resources.length === 0 ? {} : { resources }),
    message_context: messageContext,
    ...(aiModel === undefined ? {} : { ai_model: aiModel }),
    ...(event.traceId === undefined ? {} : { trace: { uid: event.traceId } }),
    unmapped: { ...facts.unmapped, ...(event.transport === undefined ? {} : { transport: event.transport }) },
  };
}
