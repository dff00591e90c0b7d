/**
 * What the stage sends for an event: the text a model reads from it, one piece per subject, cut to the
 * configured size. Pure functions.
 */
import { contentHash } from '../../contracts/content-hash.ts';
import type { ClassificationSubject, McpEvent, ToolDefinition } from '../../contracts/mcp-event.ts';

export interface ContentPiece {
  subject: ClassificationSubject;
  tool?: string;
  /** Identifies the piece within its server, so a definition listed by every session is classified once: name and hash. */
  definitionKey?: string;
  /** The text as sent (after any cut). */
  text: string;
  /** `contentHash` of `text`. */
  contentHash: string;
  /** Characters before any cut. */
  contentChars: number;
  truncated: boolean;
}

/** The text of one tool definition as a model reads it: name, title, description, then the schemas and annotations as JSON. */
export function definitionText(tool: ToolDefinition): string {
  const lines = [`Tool: ${tool.name}`];
  if (tool.title !== undefined) lines.push(`Title: ${tool.title}`);
  if (tool.description !== undefined) lines.push(`Description: ${tool.description}`);
  if (tool.inputSchema !== undefined) lines.push(`Input schema: ${JSON.stringify(tool.inputSchema)}`);
  if (tool.outputSchema !== undefined) lines.push(`Output schema: ${JSON.stringify(tool.outputSchema)}`);
  if (tool.annotations !== undefined) lines.push(`Annotations: ${JSON.stringify(tool.annotations)}`);
  return lines.join('\n');
}

/**
 * Text longer than `max` as its head and tail with a note of the cut between: instructions hide at the end of
 * long descriptions as often as at the start.
 */
export function cut(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const note = `\n[… ${text.length - max} characters not sent …]\n`;
  const keep = Math.max(0, max - note.length);
  const head = Math.ceil(keep / 2);
  // Never half a surrogate pair at either cut: the backend would get a character that is not one.
  const start = text.slice(0, head).replace(/[\ud800-\udbff]$/, '');
  const end = text.slice(text.length - (keep - head)).replace(/^[\udc00-\udfff]/, '');
  return { text: start + note + end, truncated: true };
}

function piece(
  subject: ClassificationSubject,
  whole: string,
  max: number,
  extra: Pick<ContentPiece, 'tool' | 'definitionKey'>,
): ContentPiece {
  const sent = cut(whole, max);
  return {
    subject,
    ...extra,
    text: sent.text,
    contentHash: contentHash(sent.text),
    contentChars: whole.length,
    truncated: sent.truncated,
  };
}

/** The pieces of an event the configured subjects ask for; empty for events without content. */
export function piecesOf(
  event: McpEvent,
  subjects: readonly ClassificationSubject[],
  maxChars: number,
): ContentPiece[] {
  if (event.kind === 'tool-catalog') {
    const pieces: ContentPiece[] = [];
    if (subjects.includes('server-instructions') && event.instructions !== undefined && event.instructions !== '') {
      pieces.push(
        piece('server-instructions', event.instructions, maxChars, {
          definitionKey: `instructions\u0000${event.instructionsHash ?? ''}`,
        }),
      );
    }
    if (subjects.includes('tool-definition')) {
      for (const tool of event.tools) {
        pieces.push(
          piece('tool-definition', definitionText(tool), maxChars, {
            tool: tool.name,
            definitionKey: `tool\u0000${tool.name}\u0000${tool.hash}`,
          }),
        );
      }
    }
    return pieces;
  }
  if (event.kind === 'call' && subjects.includes('tool-result')) {
    const result = event.result ?? event.structuredResult;
    if (result === undefined || result.trim() === '') return [];
    return [piece('tool-result', result, maxChars, event.tool === undefined ? {} : { tool: event.tool })];
  }
  return [];
}
