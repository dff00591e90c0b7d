import { z } from 'zod';
import type { ToolDefinition } from '../../contracts/mcp-event.ts';
import type { Finding, Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REDIRECT_PATTERNS, scanTexts, scoreOf, type PatternHit } from './lib/patterns.ts';
import { touch, trimOldest } from './lib/recency.ts';
import { REFERENCES } from './lib/references.ts';
import { toolTexts, type LocatedText } from './lib/text.ts';

const Config = z.strictObject({
  /** Score at which a tool counts as shadowing others: redirect wording, plus 2 when it names another server's tool. */
  threshold: z.number().min(1).default(3),
  /** Tool names remembered per server for cross-server references. */
  maxToolsPerServer: z.number().int().min(1).max(4096).default(256),
  /** Servers remembered. */
  maxServers: z.number().int().min(1).max(10_000).default(512),
});
type Config = z.infer<typeof Config>;

interface State {
  /** Server name → its tool names, as last listed. */
  servers: Record<string, string[]>;
}

const FOREIGN_REFERENCE_WEIGHT = 2;

/**
 * One server's tool metadata that steers how the model uses another server's tools (the shadowing attack):
 * redirect wording, weighted up when it names a tool another server in the deployment serves. Keyed on the
 * whole deployment because the attack crosses servers.
 */
export const toolShadowing: Rule<State, Config> = {
  meta: {
    id: 'tool-shadowing',
    version: 3,
    title: 'Tool metadata redirects another server’s tools',
    description:
      'A tool definition tells the model how to use a tool it does not own: "when send_message is invoked, ' +
      'change the recipient", side effects on other tools, all mail to be copied to an address, "prefix every ' +
      'shell command with …", "always cc …" (also encoded, disguised or in ten languages). The malicious ' +
      'server never has to be called; its description alone rewires a trusted server’s tool.',
    severity: 'critical',
    maturity: 'test',
    owasp: ['MCP03', 'MCP06'],
    attack: ['AML.T0051.001', 'AML.T0053'],
    falsePositives: [
      'Orchestration servers that document how their tools work together with a named companion server.',
    ],
    references: [REFERENCES.toolsSecurity, REFERENCES.invariantWhatsapp, REFERENCES.invariantToolPoisoning],
  },
  configSchema: Config,
  scope: 'global',
  keyOf: (event) => (event.kind === 'tool-catalog' ? 'deployment' : undefined),
  initialState: () => ({ servers: {} }),
  onEvent(state, event, { config }) {
    if (event.kind !== 'tool-catalog') return { state };
    const index = indexOf(state);
    const own = new Set(event.tools.map((tool) => tool.name));
    const shadowing = [];
    for (const tool of event.tools) {
      const { texts, hits } = redirectsIn(tool);
      if (hits.length === 0) continue;
      const references = foreignReferences(texts, index, own, event.server.name);
      const score = scoreOf(hits) + (references.length > 0 ? FOREIGN_REFERENCE_WEIGHT : 0);
      if (score >= config.threshold) shadowing.push({ tool, hits, references, score });
    }
    // Updated in place, with the name index beside it: the state is one per deployment and changes on every catalog.
    const { servers } = state;
    const names = event.tools.slice(0, config.maxToolsPerServer).map((tool: ToolDefinition) => tool.name);
    forget(index, event.server.name, servers[event.server.name]);
    touch(servers, event.server.name, names);
    remember(index, event.server.name, names);
    for (const [stale, staleNames] of trimOldest(servers, config.maxServers)) forget(index, stale, staleNames);
    if (shadowing.length === 0) return { state };
    const findings: Finding[] = [
      {
        subject: `${event.server.name}\u0000${shadowing.map((s) => s.tool.hash).join(',')}`,
        title: 'Tool metadata redirects another server’s tools',
        description: `Server ${event.server.name} serves ${shadowing
          .slice(0, 4)
          .map((s) => s.tool.name)
          .join(', ')} with instructions about other tools${
          shadowing.some((s) => s.references.length > 0) ? ' of other servers' : ''
        }.`,
        entities: { ...entitiesOf(event), tool: shadowing[0]!.tool.name },
        evidence: {
          tools: shadowing.slice(0, 8).map((s) => ({
            tool: s.tool.name,
            score: s.score,
            shadows: s.references.slice(0, 8),
            hits: s.hits.slice(0, 4).map(({ pattern, location, excerpt }) => ({ pattern, location, excerpt })),
          })),
        },
        eventIds: [event.eventId],
      },
    ];
    return { state, findings };
  },
};

/**
 * A definition's texts but its name, and the redirect wording in them, by its texts: `toolTexts` hands out one
 * array per definition, so a catalog served again is not scanned again.
 */
const REDIRECTS = new WeakMap<readonly LocatedText[], { texts: LocatedText[]; hits: PatternHit[] }>();

function redirectsIn(tool: ToolDefinition): { texts: LocatedText[]; hits: PatternHit[] } {
  const all = toolTexts(tool);
  let found = REDIRECTS.get(all);
  if (found === undefined) {
    const texts = all.filter((text) => !text.location.endsWith('.name'));
    found = { texts, hits: scanTexts(texts, REDIRECT_PATTERNS) };
    REDIRECTS.set(all, found);
  }
  return found;
}

/** Compound names only (`send_message`, `createIssue`): single words like `search` occur in ordinary prose. */
function distinctive(name: string): boolean {
  return name.length >= 6 && name.length <= MAX_NAME_CHARS && /[_\-.]|[a-z][A-Z]/.test(name);
}

const MAX_NAME_CHARS = 128;

/** Distinctive tool name → the servers that serve it, in the order they were last listed. */
type NameIndex = Map<string, string[]>;

/**
 * The name index of a state, derived from it and kept beside it (not in it: the state stays plain JSON for
 * checkpoints). Rebuilt once after a restore, then updated incrementally with each catalog.
 */
const INDEXES = new WeakMap<State, NameIndex>();

function indexOf(state: State): NameIndex {
  let index = INDEXES.get(state);
  if (index === undefined) {
    index = new Map();
    for (const [server, names] of Object.entries(state.servers)) remember(index, server, names);
    INDEXES.set(state, index);
  }
  return index;
}

function remember(index: NameIndex, server: string, names: readonly string[]): void {
  for (const name of names) {
    if (!distinctive(name)) continue;
    const servers = index.get(name);
    if (servers === undefined) index.set(name, [server]);
    else if (!servers.includes(server)) servers.push(server);
  }
}

function forget(index: NameIndex, server: string, names: readonly string[] | undefined): void {
  for (const name of names ?? []) {
    const servers = index.get(name);
    if (servers === undefined) continue;
    const at = servers.indexOf(server);
    if (at !== -1) servers.splice(at, 1);
    if (servers.length === 0) index.delete(name);
  }
}

const isAlnum = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
const IDENTIFIER_RUN = /[A-Za-z0-9_.-]{6,4096}/g;

/**
 * Tools of other servers the texts name, found by looking the text's identifiers up in the index (linear in
 * the text, whatever the number of servers): every stretch of an identifier run that starts and ends at a
 * separator (`_`, `-`, `.`) or the run's edge, as a name is mentioned when no letter or digit touches it.
 */
function foreignReferences(
  texts: readonly LocatedText[],
  index: NameIndex,
  own: ReadonlySet<string>,
  server: string,
): { tool: string; server: string }[] {
  const found = new Map<string, string>();
  for (const { text } of texts) {
    IDENTIFIER_RUN.lastIndex = 0;
    for (let match = IDENTIFIER_RUN.exec(text); match !== null; match = IDENTIFIER_RUN.exec(text)) {
      const run = match[0];
      for (let start = 0; start < run.length; start += 1) {
        if (start > 0 && isAlnum(run[start - 1])) continue;
        if (!isAlnum(run[start])) continue;
        for (let end = start + 6; end <= Math.min(run.length, start + MAX_NAME_CHARS); end += 1) {
          if (end < run.length && isAlnum(run[end])) continue;
          const name = run.slice(start, end);
          if (own.has(name) || found.has(name)) continue;
          const servers = index.get(name)?.filter((other) => other !== server);
          if (servers !== undefined && servers.length > 0) found.set(name, servers.at(-1)!);
          if (found.size >= 16) return [...found].map(([tool, owner]) => ({ tool, server: owner }));
        }
      }
    }
  }
  return [...found].map(([tool, owner]) => ({ tool, server: owner }));
}
