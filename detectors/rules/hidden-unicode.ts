import { z } from 'zod';
import type { ToolDefinition } from '../../contracts/mcp-event.ts';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';
import { argumentTexts, bounded, resultTexts, toolTexts, type LocatedText } from './lib/text.ts';
import { confusableName, findHiddenCharacters, type HiddenCharacters } from './lib/unicode.ts';

const Config = z.strictObject({
  /** Scan tool results (and arguments) as well as tool metadata. */
  scanCalls: z.boolean().default(true),
  /** Fields reported per alert (the rest are counted). */
  maxFields: z.number().int().min(1).default(8),
});
type Config = z.infer<typeof Config>;

/**
 * Characters a human reviewer cannot see but a model reads: Unicode tag characters (ASCII smuggling, decoded
 * into the evidence), bidi controls, zero-width characters, ANSI terminal escapes, and tool names spelled
 * with look-alike letters of another script.
 */
export const hiddenUnicode: Rule<null, Config> = {
  meta: {
    id: 'hidden-unicode',
    version: 2,
    title: 'Invisible or deceptive characters in tool metadata or results',
    description:
      'Tool metadata, server instructions, tool results or arguments contain characters that render as ' +
      'nothing or as something else: Unicode tag characters (which spell hidden ASCII instructions; the ' +
      'decoded text is in the evidence), bidirectional controls, zero-width characters, ANSI escape ' +
      'sequences that rewrite what a terminal shows, or a tool name with look-alike letters (confusables).',
    severity: 'high',
    maturity: 'test',
    owasp: ['MCP03', 'MCP06'],
    attack: ['AML.T0051.001', 'T1027'],
    falsePositives: [
      'Right-to-left text (Arabic, Hebrew) that uses bidi marks legitimately in a result.',
      'Terminal output with colours returned by a shell tool (ANSI escapes in results).',
    ],
    references: [REFERENCES.toolsSecurity, REFERENCES.unicodeTags, REFERENCES.trailOfBitsAnsi],
  },
  configSchema: Config,
  // Keeps no state between events: it runs where the event lands, no repartitioning.
  scope: 'session',
  keyOf: (event, config) => {
    if (event.kind === 'tool-catalog') return event.server.name;
    if (config.scanCalls && event.kind === 'call' && (event.result !== undefined || event.arguments !== undefined))
      return event.server.name;
    return undefined;
  },
  initialState: () => null,
  onEvent(_state, event, { config }) {
    const texts: LocatedText[] = [];
    const found: HiddenCharacters[] = [];
    const confusables = [];
    if (event.kind === 'tool-catalog') {
      for (const tool of event.tools) {
        const read = readTool(tool);
        found.push(...read.found);
        if (read.confusable !== undefined) confusables.push(read.confusable);
      }
      if (event.instructions !== undefined) texts.push({ location: 'instructions', text: bounded(event.instructions) });
    } else if (event.kind === 'call') {
      // A JSON result is read decoded as well: an ANSI escape serialized as `\u001b` is still an escape.
      if (event.result !== undefined) texts.push(...resultTexts(event.result));
      // Parsed, not raw: JSON text carries control and invisible characters as `\u` escapes.
      if (event.arguments !== undefined) texts.push(...argumentTexts(event.arguments));
    }
    for (const text of texts) {
      const hidden = findHiddenCharacters(text);
      if (hidden !== undefined) found.push(hidden);
    }
    if (found.length === 0 && confusables.length === 0) return { state: undefined };
    const decoded = found.map((f) => f.decodedTags).filter((d) => d !== undefined);
    const subject =
      event.kind === 'tool-catalog'
        ? `${event.server.name}\u0000${event.listHash}`
        : `${event.server.name}\u0000${event.eventId}`;
    return {
      state: undefined,
      findings: [
        {
          subject,
          ...(decoded.length > 0 ? { severity: 'critical' as const } : {}),
          title: 'Invisible or deceptive characters in tool metadata or results',
          description:
            `${event.kind === 'tool-catalog' ? 'Tool metadata' : 'A tool call'} of server ${event.server.name} contains ` +
            `${[...new Set(found.flatMap((f) => Object.keys(f.counts)))].concat(confusables.length > 0 ? ['confusable tool names'] : []).join(', ')}` +
            `${decoded.length > 0 ? `; hidden text: ${JSON.stringify(decoded[0]!.slice(0, 120))}` : ''}.`,
          entities: entitiesOf(event),
          evidence: {
            fields: found.slice(0, config.maxFields),
            fieldCount: found.length,
            ...(confusables.length > 0 ? { confusableToolNames: confusables.slice(0, 8) } : {}),
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};

/**
 * What one definition hides, by its texts: `toolTexts` hands out one array per definition (and per name), so
 * a catalog served again is not read again.
 */
const READ_TOOLS = new WeakMap<readonly LocatedText[], ReturnType<typeof readToolTexts>>();

function readTool(tool: ToolDefinition): ReturnType<typeof readToolTexts> {
  const texts = toolTexts(tool);
  let read = READ_TOOLS.get(texts);
  if (read === undefined) {
    read = readToolTexts(tool.name, texts);
    READ_TOOLS.set(texts, read);
  }
  return read;
}

function readToolTexts(name: string, texts: readonly LocatedText[]) {
  const found: HiddenCharacters[] = [];
  for (const text of texts) {
    const hidden = findHiddenCharacters(text);
    if (hidden !== undefined) found.push(hidden);
  }
  return { found, confusable: confusableName(name) };
}
