/**
 * What the local dashboard shows, kept in bounded memory: recent alerts, sessions with their principals and
 * clients, and each server's tool catalog with its history of definitions. Fed by the events consumer and
 * the dashboard's alert sink of `mcpwatch serve`; past a bound the oldest entry goes, and is counted.
 */
import { diffLines } from 'diff';
import type { Alert, Severity } from '../contracts/alert.ts';
import type { McpEvent, ToolDefinition } from '../contracts/mcp-event.ts';

export interface StoreLimits {
  alerts: number;
  sessions: number;
  /** Definitions kept per tool, oldest dropped first. */
  versionsPerTool: number;
  toolsPerServer: number;
  /** Server names kept for the summary, least recently seen dropped first. */
  servers: number;
  /** Recent events kept by id, for an alert's linked events. */
  events: number;
}

const DEFAULT_LIMITS: StoreLimits = {
  alerts: 10_000,
  sessions: 10_000,
  versionsPerTool: 20,
  toolsPerServer: 1_000,
  servers: 1_000,
  events: 20_000,
};

/** An alert with what the detail view shows beside it. */
export interface AlertDetail {
  alert: Alert;
  /** The alert's `eventIds` still held (recent events only), in the alert's order. */
  events: McpEvent[];
  /** Ids the alert names that are no longer (or were never) held here. */
  missingEventIds: string[];
  /** KQL that pivots to the alert and its events in Microsoft Sentinel. */
  kql: { alert: string; events: string; entities: string | undefined };
}

export interface SessionView {
  sessionId: string;
  server: string;
  principals: string[];
  clients: string[];
  firstSeen: string;
  lastSeen: string;
  calls: number;
  errors: number;
}

export interface ToolVersion {
  time: string;
  hash: string;
  servedTo?: string;
  definition: ToolDefinition;
}

export interface ToolHistory {
  server: string;
  tool: string;
  versions: ToolVersion[];
}

/** One line of a side-by-side diff: `left` is the old definition, `right` the new one. */
export interface DiffRow {
  left?: string;
  right?: string;
  change: 'same' | 'removed' | 'added' | 'changed';
}

export interface Summary {
  alerts: number;
  byRule: Record<string, number>;
  bySeverity: Partial<Record<Severity, number>>;
  /** Alerts per minute of event time, oldest first. */
  timeline: { minute: string; count: number }[];
  events: number;
  sessions: number;
  servers: string[];
  dropped: { alerts: number; sessions: number; toolVersions: number; servers: number; events: number };
}

export interface AlertFilter {
  ruleId?: string;
  severity?: string;
  /** Matches any entity value or the title, case-insensitively. */
  text?: string;
}

export class LocalDashboardStore {
  private readonly limits: StoreLimits;
  private readonly alertsById = new Map<string, Alert>();
  private readonly sessions = new Map<string, SessionView>();
  /** `server\0tool` → history. */
  private readonly tools = new Map<string, ToolHistory>();
  /** Server name → tools tracked for it; insertion order is recency (re-inserted when seen). */
  private readonly servers = new Map<string, number>();
  private readonly recentEvents = new Map<string, McpEvent>();
  private events = 0;
  private readonly dropped = { alerts: 0, sessions: 0, toolVersions: 0, servers: 0, events: 0 };

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  addAlerts(alerts: readonly Alert[]): void {
    for (const alert of alerts) {
      this.alertsById.delete(alert.alertId); // a repeat moves to the newest position
      this.alertsById.set(alert.alertId, alert);
      if (this.alertsById.size > this.limits.alerts) {
        this.alertsById.delete(this.alertsById.keys().next().value as string);
        this.dropped.alerts += 1;
      }
    }
  }

  ingest(event: McpEvent): void {
    this.events += 1;
    this.touchServer(event.server.name);
    this.recentEvents.delete(event.eventId);
    this.recentEvents.set(event.eventId, event);
    if (this.recentEvents.size > this.limits.events) {
      this.recentEvents.delete(this.recentEvents.keys().next().value as string);
      this.dropped.events += 1;
    }
    if (event.sessionId !== undefined) this.trackSession(event, event.sessionId);
    if (event.kind === 'tool-catalog') {
      for (const tool of event.tools) this.trackTool(event, tool);
    }
  }

  alerts(filter: AlertFilter = {}): Alert[] {
    const text = filter.text?.toLowerCase();
    return [...this.alertsById.values()]
      .filter((alert) => filter.ruleId === undefined || alert.ruleId === filter.ruleId)
      .filter((alert) => filter.severity === undefined || alert.severity === filter.severity)
      .filter(
        (alert) =>
          text === undefined ||
          alert.title.toLowerCase().includes(text) ||
          Object.values(alert.entities).some(
            (value) => typeof value === 'string' && value.toLowerCase().includes(text),
          ),
      )
      .reverse();
  }

  summary(): Summary {
    const byRule: Record<string, number> = {};
    const bySeverity: Partial<Record<Severity, number>> = {};
    const perMinute = new Map<string, number>();
    for (const alert of this.alertsById.values()) {
      byRule[alert.ruleId] = (byRule[alert.ruleId] ?? 0) + 1;
      bySeverity[alert.severity] = (bySeverity[alert.severity] ?? 0) + 1;
      const minute = alert.time.slice(0, 16);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
    return {
      alerts: this.alertsById.size,
      byRule,
      bySeverity,
      timeline: [...perMinute].sort(([a], [b]) => a.localeCompare(b)).map(([minute, count]) => ({ minute, count })),
      events: this.events,
      sessions: this.sessions.size,
      servers: [...this.servers.keys()].sort(),
      dropped: { ...this.dropped },
    };
  }

  alertDetail(alertId: string): AlertDetail | undefined {
    const alert = this.alertsById.get(alertId);
    if (alert === undefined) return undefined;
    const ids = alert.eventIds ?? [];
    const events: McpEvent[] = [];
    const missingEventIds: string[] = [];
    for (const id of ids) {
      const event = this.recentEvents.get(id);
      if (event === undefined) missingEventIds.push(id);
      else events.push(event);
    }
    return { alert, events, missingEventIds, kql: pivotKql(alert) };
  }

  sessionViews(): SessionView[] {
    return [...this.sessions.values()].reverse();
  }

  /** Every tool with its versions; tools that changed first. */
  catalog(): (ToolHistory & { diffs: DiffRow[][] })[] {
    return [...this.tools.values()]
      .map((history) => ({
        ...history,
        diffs: history.versions.slice(1).map((version, index) => sideBySide(history.versions[index]!, version)),
      }))
      .sort(
        (a, b) =>
          b.versions.length - a.versions.length || a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool),
      );
  }

  /** Marks `name` most recently seen; past the bound the least recent server goes, with its tools. */
  private touchServer(name: string): void {
    const tools = this.servers.get(name);
    this.servers.delete(name);
    this.servers.set(name, tools ?? 0);
    if (this.servers.size <= this.limits.servers) return;
    const [oldest, oldestTools] = this.servers.entries().next().value as [string, number];
    this.servers.delete(oldest);
    this.dropped.servers += 1;
    if (oldestTools > 0) {
      // Rare (a server flood): one pass to drop the evicted server's tool histories.
      for (const [key, history] of this.tools) {
        if (history.server === oldest) {
          this.tools.delete(key);
          this.dropped.toolVersions += history.versions.length;
        }
      }
    }
  }

  private trackSession(event: McpEvent, sessionId: string): void {
    let view = this.sessions.get(sessionId);
    if (view === undefined) {
      view = {
        sessionId,
        server: event.server.name,
        principals: [],
        clients: [],
        firstSeen: event.time,
        lastSeen: event.time,
        calls: 0,
        errors: 0,
      };
      if (this.sessions.size >= this.limits.sessions) {
        this.sessions.delete(this.sessions.keys().next().value as string);
        this.dropped.sessions += 1;
      }
    }
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, view);
    if (event.time > view.lastSeen) view.lastSeen = event.time;
    const principal = event.principal?.id;
    if (principal !== undefined && !view.principals.includes(principal)) view.principals.push(principal);
    const client = [event.client?.name, event.client?.address].filter(Boolean).join(' @ ');
    if (client !== '' && !view.clients.includes(client)) view.clients.push(client);
    if (event.kind === 'call') {
      view.calls += 1;
      if (event.outcome !== 'ok') view.errors += 1;
    }
  }

  private trackTool(event: McpEvent, tool: ToolDefinition): void {
    const key = `${event.server.name}\0${tool.name}`;
    let history = this.tools.get(key);
    if (history === undefined) {
      const serverTools = this.servers.get(event.server.name) ?? 0;
      if (serverTools >= this.limits.toolsPerServer) {
        this.dropped.toolVersions += 1;
        return;
      }
      this.servers.set(event.server.name, serverTools + 1);
      history = { server: event.server.name, tool: tool.name, versions: [] };
      this.tools.set(key, history);
    }
    if (history.versions.at(-1)?.hash === tool.hash) return;
    history.versions.push({
      time: event.time,
      hash: tool.hash,
      ...(event.principal === undefined ? {} : { servedTo: event.principal.id }),
      definition: tool,
    });
    if (history.versions.length > this.limits.versionsPerTool) {
      history.versions.shift();
      this.dropped.toolVersions += 1;
    }
  }
}

function printable(definition: ToolDefinition): string {
  const { hash: _hash, ...shown } = definition;
  return JSON.stringify(shown, null, 2) + '\n';
}

/** Pairs removed and added lines into rows, so old and new read side by side. */
function sideBySide(before: ToolVersion, after: ToolVersion): DiffRow[] {
  const rows: DiffRow[] = [];
  const parts = diffLines(printable(before.definition), printable(after.definition));
  for (let index = 0; index < parts.length; index += 1) {
    const part = parts[index]!;
    const lines = part.value.replace(/\n$/, '').split('\n');
    if (!part.added && !part.removed) {
      for (const line of lines) rows.push({ left: line, right: line, change: 'same' });
    } else if (part.removed && parts[index + 1]?.added === true) {
      const added = parts[index + 1]!.value.replace(/\n$/, '').split('\n');
      for (let line = 0; line < Math.max(lines.length, added.length); line += 1) {
        const left = lines[line];
        const right = added[line];
        rows.push({
          ...(left === undefined ? {} : { left }),
          ...(right === undefined ? {} : { right }),
          change: left === undefined ? 'added' : right === undefined ? 'removed' : 'changed',
        });
      }
      index += 1;
    } else if (part.removed) {
      for (const line of lines) rows.push({ left: line, change: 'removed' });
    } else {
      for (const line of lines) rows.push({ right: line, change: 'added' });
    }
  }
  return rows;
}

/** KQL string literal: the value inside double quotes with `\\` and `"` escaped, bounded. */
function kqlString(value: string): string {
  return `"${value.slice(0, 1024).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function pivotKql(alert: Alert): AlertDetail['kql'] {
  const ids = (alert.eventIds ?? []).slice(0, 100).map(kqlString).join(', ');
  const entities = Object.entries({
    SessionId: alert.entities.session,
    PrincipalId: alert.entities.user,
    ServerName: alert.entities.server,
    Tool: alert.entities.tool,
    ClientAddress: alert.entities.ip,
  }).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '');
  return {
    alert: `MCPWatchAlerts_CL\n| where AlertId == ${kqlString(alert.alertId)}\n| summarize arg_max(TimeGenerated, *) by AlertId`,
    events:
      ids === ''
        ? `MCPWatchEvents_CL\n| where TimeGenerated between (datetime(${alert.time}) - 1h .. datetime(${alert.time}) + 1h)`
        : `MCPWatchEvents_CL\n| where EventId in (${ids})\n| order by TimeGenerated asc`,
    entities:
      entities.length === 0
        ? undefined
        : `MCPWatchEvents_CL\n| where TimeGenerated between (datetime(${alert.time}) - 1d .. datetime(${alert.time}) + 1h)\n| where ${entities
            .map(([column, value]) => `${column} == ${kqlString(value)}`)
            .join(' or ')}\n| order by TimeGenerated asc`,
  };
}
