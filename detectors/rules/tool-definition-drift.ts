import { z } from 'zod';
import type { Severity } from '../../contracts/alert.ts';
import type { ToolDefinition } from '../../contracts/mcp-event.ts';
import type { Finding, Rule } from '../types.ts';
import { contentHash } from '../../contracts/content-hash.ts';
import { audienceOf, isStatelessCatalog } from './lib/catalog-audience.ts';
import { entitiesOf, pushBounded } from './lib/entities.ts';
import { touch, trimOldest } from './lib/recency.ts';
import { REFERENCES } from './lib/references.ts';
import { excerpt } from './lib/text.ts';

const Config = z.strictObject({
  /** Two principals served different catalogs within this many seconds counts as a split view (before 2026-07-28), a new audience served another list than the previous one as side by side (2026-07-28). */
  splitViewWindowSeconds: z.number().int().min(1).default(300),
  /** Characters of each description kept in state, for the before/after evidence. */
  keepDescriptionChars: z.number().int().min(0).max(4096).default(1024),
});
type Config = z.infer<typeof Config>;

const FIELDS = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;
type Field = (typeof FIELDS)[number];

interface KnownTool {
  hash: string;
  fields: Record<Field, string>;
  description: string;
}

interface State {
  listHash?: string;
  instructionsHash?: string;
  tools: Record<string, KnownTool>;
  /** Session id → list hash that session was last served. */
  sessions: Record<string, string>;
  /** Recent catalogs by principal, for split views (session-era catalogs). */
  recent: { principal: string; listHash: string; time: number; eventId: string }[];
  /** Audience → list hash it was last served (2026-07-28 catalogs); absent in states of version 1. */
  audiences?: Record<string, string>;
  /** Event time of the last catalog. */
  servedAt?: number;
}

interface ToolChange {
  tool: string;
  change: 'modified' | 'added' | 'removed' | 'renamed';
  fields?: Field[];
  renamedFrom?: string;
  description?: { before: string; after: string };
}

const MAX_SESSIONS = 1024;
const MAX_AUDIENCES = 1024;
const MAX_RECENT = 32;
const MAX_CHANGES_IN_EVIDENCE = 16;

/**
 * Changes to a server's tools after they were first seen (the rug pull), keyed on the server: the baseline is
 * the first catalog seen, and each new version is compared with the previous one. For 2026-07-28 catalogs it
 * raises changes over time only: a list that differs from the previous one because another audience is served
 * another list at the same time is `tool-list-variance`'s (README "Drift over time, variance at one time").
 */
export const toolDefinitionDrift: Rule<State, Config> = {
  meta: {
    id: 'tool-definition-drift',
    version: 2,
    title: 'Tool definitions changed after first seen',
    description:
      'A tool of a server changed after it was first seen (description, title, input or output schema, ' +
      'annotations), tools were added, removed or renamed, or the server instructions changed. Changes ' +
      'within a session or without a list_changed notification, and different catalogs served to different ' +
      'principals at the same time, are raised as more severe: a client that approved a tool once keeps ' +
      'trusting a definition that is no longer the one it approved (rug pull). From protocol revision ' +
      '2026-07-28 only changes over time are raised here; different lists served side by side are ' +
      'tool-list-variance.',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP03', 'MCP04'],
    attack: ['T1195.002', 'AML.T0010'],
    falsePositives: [
      'A deployment of a new server version that changes tool descriptions (expected once per release; correlate with deploys).',
      'Servers whose tool list depends on the caller’s permissions (declare them or tune to additions only).',
    ],
    references: [REFERENCES.toolsListChanged, REFERENCES.toolsSecurity, REFERENCES.invariantToolPoisoning],
    protocolVersions:
      'all; from 2026-07-28 changes over time only (lists served side by side: tool-list-variance), before it also the split view across principals',
  },
  configSchema: Config,
  scope: 'server',
  keyOf: (event) => (event.kind === 'tool-catalog' ? event.server.name : undefined),
  initialState: () => ({ tools: {}, sessions: {}, recent: [] }),
  onEvent(state, event, { config, eventTime }) {
    if (event.kind !== 'tool-catalog') return { state };
    // Fields are hashed only for tools whose definition hash changed: a repeated listing costs a lookup per tool.
    const tools =
      state.listHash === event.listHash
        ? state.tools
        : Object.fromEntries(
            event.tools.map((tool) => {
              const previous = state.tools[tool.name];
              return [tool.name, previous?.hash === tool.hash ? previous : known(tool, config)];
            }),
          );
    const findings: Finding[] = [];
    const principal = event.principal?.id;
    const stateless = isStatelessCatalog(event);
    const audience = stateless && event.trigger === 'tools/list' ? audienceOf(event) : undefined;
    const servedBefore = audience === undefined ? undefined : state.audiences?.[audience];
    // 2026-07-28: this audience was served this very list before, or is new while another audience was served
    // the previous list within the window: the lists differ side by side, not over time.
    const sideBySide =
      audience !== undefined &&
      state.listHash !== event.listHash &&
      (servedBefore === event.listHash ||
        (servedBefore === undefined &&
          state.servedAt !== undefined &&
          eventTime - state.servedAt <= config.splitViewWindowSeconds * 1000));

    if (
      state.listHash !== undefined &&
      (state.listHash !== event.listHash || state.instructionsHash !== event.instructionsHash)
    ) {
      const changes = sideBySide ? [] : diff(state.tools, tools);
      const instructionsChanged = state.instructionsHash !== event.instructionsHash;
      const previousInSession = event.sessionId === undefined ? undefined : state.sessions[event.sessionId];
      const midSession = previousInSession !== undefined && previousInSession !== event.listHash;
      const announced = event.trigger === 'list-changed';
      if (changes.length > 0 || instructionsChanged) {
        findings.push({
          subject: `${event.server.name}\u0000${event.listHash}\u0000${event.instructionsHash ?? ''}`,
          severity: severityOf(changes, instructionsChanged, midSession, announced),
          title: 'Tool definitions changed after first seen',
          description:
            `Server ${event.server.name} changed ${summary(changes, instructionsChanged)}` +
            `${announced ? ' (announced by list_changed)' : ' without a list_changed notification'}` +
            `${midSession ? ', within a session that had been served the previous definitions' : ''}.`,
          entities: entitiesOf(event),
          evidence: {
            changes: changes.slice(0, MAX_CHANGES_IN_EVIDENCE),
            changeCount: changes.length,
            instructionsChanged,
            trigger: event.trigger,
            midSession,
            previousListHash: state.listHash,
            listHash: event.listHash,
          },
          eventIds: [event.eventId],
        });
      }
    }

    if (principal !== undefined && !stateless) {
      const other = state.recent.find(
        (seen) =>
          seen.principal !== principal &&
          seen.listHash !== event.listHash &&
          Math.abs(eventTime - seen.time) <= config.splitViewWindowSeconds * 1000,
      );
      if (other !== undefined) {
        const hashes = [other.listHash, event.listHash].sort();
        findings.push({
          subject: `${event.server.name}\u0000split\u0000${hashes.join(',')}`,
          severity: 'critical',
          title: 'Different tool definitions served to different principals',
          description: `Server ${event.server.name} served two different tool catalogs to two principals within ${config.splitViewWindowSeconds} s.`,
          entities: entitiesOf(event),
          evidence: {
            principals: [other.principal, principal],
            listHashes: [other.listHash, event.listHash],
            secondsApart: Math.abs(eventTime - other.time) / 1000,
          },
          eventIds: [other.eventId, event.eventId],
        });
      }
    }

    // Updated in place (the engine owns the state): a copy of up to MAX_SESSIONS ids per catalog was most of the work.
    const { sessions } = state;
    if (event.sessionId !== undefined) {
      touch(sessions, event.sessionId, event.listHash);
      trimOldest(sessions, MAX_SESSIONS);
    }
    const audiences = { ...state.audiences };
    if (audience !== undefined) {
      delete audiences[audience];
      audiences[audience] = event.listHash;
      const names = Object.keys(audiences);
      for (const stale of names.slice(0, Math.max(0, names.length - MAX_AUDIENCES))) delete audiences[stale];
    }
    const recent =
      principal === undefined || stateless
        ? state.recent
        : pushBounded(
            state.recent.filter((seen) => seen.principal !== principal),
            { principal, listHash: event.listHash, time: eventTime, eventId: event.eventId },
            MAX_RECENT,
          );
    const next: State = {
      tools,
      sessions,
      recent,
      ...(Object.keys(audiences).length === 0 ? {} : { audiences }),
      servedAt: eventTime,
      listHash: event.listHash,
      ...(event.instructionsHash === undefined ? {} : { instructionsHash: event.instructionsHash }),
    };
    return { state: next, findings };
  },
};

function known(tool: ToolDefinition, config: Config): KnownTool {
  const fields = Object.fromEntries(FIELDS.map((field) => [field, contentHash(tool[field])])) as Record<Field, string>;
  return { hash: tool.hash, fields, description: (tool.description ?? '').slice(0, config.keepDescriptionChars) };
}

function diff(before: Record<string, KnownTool>, after: Record<string, KnownTool>): ToolChange[] {
  const changes: ToolChange[] = [];
  const added = Object.keys(after).filter((name) => before[name] === undefined);
  const removed = Object.keys(before).filter((name) => after[name] === undefined);
  for (const [name, tool] of Object.entries(after)) {
    const previous = before[name];
    if (previous === undefined || previous.hash === tool.hash) continue;
    const fields = FIELDS.filter((field) => previous.fields[field] !== tool.fields[field]);
    changes.push({
      tool: name,
      change: 'modified',
      fields,
      ...(fields.includes('description')
        ? { description: descriptionDiff(previous.description, tool.description) }
        : {}),
    });
  }
  const renamedFrom = new Set<string>();
  for (const name of added) {
    const tool = after[name]!;
    const origin = removed.find(
      (old) =>
        !renamedFrom.has(old) && before[old]!.fields.description === tool.fields.description && tool.description !== '',
    );
    if (origin !== undefined) {
      renamedFrom.add(origin);
      changes.push({ tool: name, change: 'renamed', renamedFrom: origin });
    } else {
      changes.push({ tool: name, change: 'added' });
    }
  }
  for (const name of removed) if (!renamedFrom.has(name)) changes.push({ tool: name, change: 'removed' });
  return changes;
}

/** Before and after around the first difference: enough to read what was slipped in. */
function descriptionDiff(before: string, after: string): { before: string; after: string } {
  let index = 0;
  while (index < before.length && index < after.length && before[index] === after[index]) index += 1;
  return { before: excerpt(before, index, 0, 80), after: excerpt(after, index, 0, 80) };
}

function severityOf(
  changes: ToolChange[],
  instructionsChanged: boolean,
  midSession: boolean,
  announced: boolean,
): Severity {
  const rewrites =
    instructionsChanged || changes.some((change) => change.change === 'modified' || change.change === 'renamed');
  if (rewrites) return midSession && !announced ? 'critical' : 'high';
  return announced ? 'low' : 'medium';
}

function summary(changes: ToolChange[], instructionsChanged: boolean): string {
  const parts = changes.slice(0, 4).map((change) => `${change.tool} (${change.change})`);
  if (changes.length > 4) parts.push(`${changes.length - 4} more`);
  if (instructionsChanged) parts.push('its instructions');
  return parts.join(', ');
}
