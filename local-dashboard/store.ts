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
}

const DEFAULT_LIMITS: StoreLimits = { alerts: 10_000, sessions: 10_000, versionsPerTool: 20, toolsPerServer: 1_000 };

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
  dropped: { alerts: number; sessions: number; toolVersions: number };
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
  private readonly servers = new Set<string>();
  private events = 0;
  private readonly dropped = { alerts: 0, sessions: 0, toolVersions: 0 };

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
    this.servers.add(event.server.name);
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
      servers: [...this.servers].sort(),
      dropped: { ...this.dropped },
    };
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
      const serverTools = [...this.tools.values()].filter((entry) => entry.server === event.server.name).length;
      if (serverTools >= this.limits.toolsPerServer) {
        this.dropped.toolVersions += 1;
        return;
      }
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
