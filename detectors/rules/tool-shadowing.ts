import { z } from 'zod';
import type { ToolDefinition } from '../../contracts/mcp-event.ts';
import type { Finding, Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REDIRECT_PATTERNS, scanTexts, scoreOf } from './lib/patterns.ts';
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
    version: 1,
    title: 'Tool metadata redirects another server’s tools',
    description:
      'A tool definition tells the model how to use a tool it does not own: "when send_message is invoked, ' +
      'change the recipient", side effects on other tools, all mail to be copied to an address. The malicious ' +
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
    const own = new Set(event.tools.map((tool) => tool.name));
    const foreign = new Map<string, string>();
    for (const [server, names] of Object.entries(state.servers)) {
      if (server === event.server.name) continue;
      for (const name of names) if (!own.has(name) && distinctive(name)) foreign.set(name, server);
    }
    const shadowing = [];
    for (const tool of event.tools) {
      const texts = toolTexts(tool).filter((text) => !text.location.endsWith('.name'));
      const hits = scanTexts(texts, REDIRECT_PATTERNS);
      if (hits.length === 0) continue;
      const references = foreignReferences(texts, foreign);
      const score = scoreOf(hits) + (references.length > 0 ? FOREIGN_REFERENCE_WEIGHT : 0);
      if (score >= config.threshold) shadowing.push({ tool, hits, references, score });
    }
    const servers = { ...state.servers };
    delete servers[event.server.name];
    servers[event.server.name] = event.tools
      .slice(0, config.maxToolsPerServer)
      .map((tool: ToolDefinition) => tool.name);
    const names = Object.keys(servers);
    for (const stale of names.slice(0, Math.max(0, names.length - config.maxServers))) delete servers[stale];
    if (shadowing.length === 0) return { state: { servers } };
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
    return { state: { servers }, findings };
  },
};

/** Compound names only (`send_message`, `createIssue`): single words like `search` occur in ordinary prose. */
function distinctive(name: string): boolean {
  return name.length >= 6 && /[_\-.]|[a-z][A-Z]/.test(name);
}

function foreignReferences(
  texts: readonly LocatedText[],
  foreign: ReadonlyMap<string, string>,
): { tool: string; server: string }[] {
  const found: { tool: string; server: string }[] = [];
  for (const [name, server] of foreign) {
    if (texts.some(({ text }) => mentions(text, name))) found.push({ tool: name, server });
    if (found.length >= 16) break;
  }
  return found;
}

function mentions(text: string, name: string): boolean {
  for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) {
    const before = text[at - 1] ?? ' ';
    const after = text[at + name.length] ?? ' ';
    if (!/[A-Za-z0-9]/.test(before) && !/[A-Za-z0-9]/.test(after)) return true;
  }
  return false;
}
