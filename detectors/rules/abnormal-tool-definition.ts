import { z } from 'zod';
import type { ToolDefinition } from '../../contracts/mcp-event.ts';
import { FLATTENED_VALUE_MARKER } from '../../contracts/signals.ts';
import type { Rule } from '../types.ts';
import { entitiesOf } from './lib/entities.ts';
import { REFERENCES } from './lib/references.ts';

const Config = z.strictObject({
  /** Nesting of objects and arrays in one definition (the definition itself is 1) above which it alerts. */
  maxDepth: z.int().min(2).default(24),
  /** UTF-8 bytes of one definition's canonical JSON above which it alerts. */
  maxBytes: z
    .int()
    .min(1024)
    .default(128 * 1024),
  /** Tools reported per alert (the rest are counted). */
  maxToolsPerAlert: z.int().min(1).default(8),
});
type Config = z.infer<typeof Config>;

interface AbnormalTool {
  tool: string;
  /** Deepest nesting known: as served (`definitionDepth`), as received, or measured here; a lower bound when cut. */
  depth: number;
  bytes?: number;
  /** Part of the definition was replaced by a marker on the way (too deep to export or to ingest). */
  flattened?: true;
}

/**
 * Depth of what the event carries, stopping once past `limit`: only used when neither the observer
 * (`definitionDepth`) nor the collector (`maxDepth`) measured it, e.g. in a replayed file. Iterative.
 */
function measuredDepth(tool: ToolDefinition, limit: number): { depth: number; flattened: boolean } {
  const { hash: _hash, ...definition } = tool;
  const stack: { value: unknown; depth: number }[] = [{ value: definition, depth: 1 }];
  let deepest = 0;
  let flattened = false;
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, depth } = next;
    if (value === FLATTENED_VALUE_MARKER) {
      flattened = true;
      deepest = Math.max(deepest, depth);
    }
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) break;
    for (const item of Array.isArray(value) ? value : Object.values(value))
      stack.push({ value: item, depth: depth + 1 });
  }
  return { depth: deepest, flattened };
}

function abnormal(tool: ToolDefinition, config: Config): AbnormalTool | undefined {
  const known = Math.max(tool.definitionDepth ?? 0, tool.maxDepth ?? 0);
  const measured = known > 0 ? { depth: known, flattened: false } : measuredDepth(tool, config.maxDepth);
  const flattened = tool.flattened === true || measured.flattened;
  const deep = measured.depth > config.maxDepth || flattened;
  const large = (tool.definitionBytes ?? 0) > config.maxBytes;
  if (!deep && !large) return undefined;
  return {
    tool: tool.name,
    depth: measured.depth,
    ...(tool.definitionBytes === undefined ? {} : { bytes: tool.definitionBytes }),
    ...(flattened ? { flattened: true as const } : {}),
  };
}

/**
 * A tool definition nested or sized far beyond what real servers serve (the catalog of 18 published servers
 * nests at most 11 levels and 6 KB). Such a shape breaks parsers and exporters, so a server can use it to
 * hide its catalog, calls and drift from monitoring; mcpwatch bounds and flattens it on the way, and this
 * rule makes the shape itself visible.
 */
export const abnormalToolDefinition: Rule<null, Config> = {
  meta: {
    id: 'abnormal-tool-definition',
    version: 1,
    title: 'Tool definition nested or sized abnormally',
    description:
      'A tool definition served by an MCP server nests deeper than `maxDepth` levels (24 by default; ' +
      'published servers stay within 11) or its canonical JSON is larger than `maxBytes` (128 KiB), or part of ' +
      'it was flattened because it was too deep to export or ingest. Such shapes make parsers, exporters and ' +
      'SIEM pipelines fail or cut the definition, which lets a malicious server hide its metadata, or instructions ' +
      'placed deep inside it, from review and monitoring. The evidence lists each tool with its depth and size.',
    severity: 'medium',
    maturity: 'experimental',
    owasp: ['MCP03', 'MCP08'],
    attack: ['T1027', 'T1562.001'],
    falsePositives: [
      'Generated schemas of very large APIs (deeply nested request bodies, inlined references) served as one tool.',
    ],
    references: [REFERENCES.tools, REFERENCES.toolsSecurity, REFERENCES.owaspMcpTop10],
  },
  configSchema: Config,
  // Keeps no state between events: it runs where the event lands, no repartitioning.
  scope: 'session',
  keyOf: (event) => (event.kind === 'tool-catalog' ? event.server.name : undefined),
  initialState: () => null,
  onEvent(_state, event, { config }) {
    if (event.kind !== 'tool-catalog') return { state: undefined };
    const found: AbnormalTool[] = [];
    for (const tool of event.tools) {
      const shape = abnormal(tool, config);
      if (shape !== undefined) found.push(shape);
    }
    if (found.length === 0) return { state: undefined };
    const first = found[0]!;
    return {
      state: undefined,
      findings: [
        {
          subject: `${event.server.name}\u0000${event.listHash}`,
          title: 'Tool definition nested or sized abnormally',
          description:
            `Server ${event.server.name} serves ${found.length} tool definition(s) beyond the normal shape; ` +
            `${JSON.stringify(first.tool)} nests ${first.flattened === true ? 'at least ' : ''}${first.depth} levels` +
            `${first.bytes === undefined ? '' : ` in ${first.bytes} bytes`}.`,
          entities: entitiesOf(event),
          evidence: {
            tools: found.slice(0, config.maxToolsPerAlert),
            toolCount: found.length,
            maxDepth: config.maxDepth,
            maxBytes: config.maxBytes,
          },
          eventIds: [event.eventId],
        },
      ],
    };
  },
};
