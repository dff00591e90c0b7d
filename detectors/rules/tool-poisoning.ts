import { z } from 'zod';
import type { Finding, Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import type { ToolDefinition } from '../../contracts/mcp-event.ts';
import { INSTRUCTION_PATTERNS, SENSITIVE_PATH_PATTERNS, scanTexts, scoreOf, type PatternHit } from './lib/patterns.ts';
import { REFERENCES } from './lib/references.ts';
import { bounded, toolTexts } from './lib/text.ts';

const Config = z.strictObject({
  /** Score (sum of the strongest hit per signal) at which a tool counts as poisoned. */
  threshold: z.number().min(1).default(3),
  /** Tools reported per catalog event (the rest are counted). */
  maxToolsPerAlert: z.number().int().min(1).default(8),
});
type Config = z.infer<typeof Config>;

const PATTERNS = [...INSTRUCTION_PATTERNS, ...SENSITIVE_PATH_PATTERNS];

/**
 * Scans by tool hash: a server's catalog is listed by every session, and an unchanged definition is not
 * scanned again. The hash covers the whole definition, so equal hashes mean equal text; the cache is a memo
 * of a pure function and changes no result.
 */
const SCANNED = new Map<string, { hits: PatternHit[]; score: number }>();
const MAX_SCANNED = 8192;

function scanTool(tool: ToolDefinition): { hits: PatternHit[]; score: number } {
  const key = `${tool.hash}\u0000${tool.name}`;
  let scanned = SCANNED.get(key);
  if (scanned === undefined) {
    if (SCANNED.size >= MAX_SCANNED) SCANNED.clear();
    const hits = scanTexts(toolTexts(tool), PATTERNS);
    scanned = { hits, score: scoreOf(hits) };
    SCANNED.set(key, scanned);
  }
  return scanned;
}
const MAX_HITS_IN_EVIDENCE = 6;

/**
 * Instructions to the model hidden in tool metadata: concealment and override wording, instruction tags,
 * coercion, sensitive file paths and parameters that ask for data to be smuggled out. Forceful but honest
 * descriptions ("IMPORTANT: always pass an absolute path") carry no such signal and stay quiet.
 */
export const toolPoisoning: Rule<null, Config> = {
  meta: {
    id: 'tool-poisoning',
    version: 3,
    title: 'Instructions to the model hidden in tool metadata',
    description:
      'A tool definition (name, title, description, or any description, default, enum or property name in ' +
      'its schemas) or the server instructions carry instructions aimed at the model: wording that hides ' +
      'actions from the user or overrides its instructions, instruction tags such as <IMPORTANT>, coercion, ' +
      'references to SSH keys, cloud credentials or MCP client configs, and parameters meant to carry file ' +
      'contents or the conversation out; in ten languages, encoded (base64, hex, percent) or disguised ' +
      '(leetspeak, look-alike letters, full-width forms, instructions spelled as parameter names). Each signal ' +
      'is weighted; the strongest hit per signal is summed.',
    severity: 'critical',
    maturity: 'test',
    owasp: ['MCP03', 'MCP06'],
    attack: ['AML.T0051.001', 'AML.T0053', 'T1195.002'],
    falsePositives: [
      'Security tools whose descriptions legitimately mention ~/.ssh or credential files and explain that they read them.',
      'Descriptions that tell the model what not to show the user for privacy reasons.',
    ],
    references: [REFERENCES.toolsSecurity, REFERENCES.invariantToolPoisoning, REFERENCES.trailOfBitsLineJumping],
  },
  configSchema: Config,
  // Keeps no state; reads tool catalogs, which are keyed by server: no repartitioning.
  scope: 'server',
  keyOf: (event) => (event.kind === 'tool-catalog' ? event.server.name : undefined),
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'tool-catalog') return { state: undefined };
    const poisoned: { tool: string; hash: string; score: number; hits: PatternHit[] }[] = [];
    for (const tool of event.tools) {
      const { hits, score } = scanTool(tool);
      if (score >= config.threshold) poisoned.push({ tool: tool.name, hash: tool.hash, score, hits });
    }
    if (event.instructions !== undefined) {
      const hits = scanTexts([{ location: 'instructions', text: bounded(event.instructions) }], PATTERNS);
      const score = scoreOf(hits);
      if (score >= config.threshold)
        poisoned.push({ tool: '(server instructions)', hash: event.instructionsHash ?? '', score, hits });
    }
    if (poisoned.length === 0) return { state: undefined };
    const findings: Finding[] = [
      {
        subject: `${event.server.name}\u0000${poisoned.map((p) => p.hash).join(',')}`,
        title: 'Instructions to the model hidden in tool metadata',
        description: `Server ${event.server.name} serves ${poisoned.length} tool definition(s) with hidden instructions: ${poisoned
          .slice(0, 4)
          .map((p) => p.tool)
          .join(', ')}.`,
        entities: { ...entitiesOf(event), tool: poisoned[0]!.tool },
        evidence: {
          tools: poisoned.slice(0, config.maxToolsPerAlert).map((p) => ({
            tool: p.tool,
            score: p.score,
            signals: [...new Set(p.hits.map((hit) => hit.signal))],
            hits: p.hits.slice(0, MAX_HITS_IN_EVIDENCE).map(({ pattern, location, excerpt, view }) => ({
              pattern,
              location,
              excerpt,
              ...(view === undefined ? {} : { view }),
            })),
          })),
          toolCount: poisoned.length,
        },
        eventIds: [event.eventId],
      },
    ];
    return { state: undefined, findings };
  },
};
