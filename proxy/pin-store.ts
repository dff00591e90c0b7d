import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ContentHash } from '../contracts/mcp-event.ts';
import { McpwatchError } from '../contracts/errors.ts';
import { describeIssues, issuesOf } from '../contracts/parse.ts';

/** A definition the proxy withholds until a user approves it. */
const PendingDefinition = z.strictObject({
  /** Hash of the definition served when it was withheld. */
  hash: ContentHash,
  /** `drift` (differs from the pin) or `flagged` (content rules matched). */
  reason: z.enum(['drift', 'flagged']),
  /** Content-rule signals that matched, when flagged. */
  signals: z.array(z.string()).default([]),
  /** When it was first withheld (ISO 8601). */
  seenAt: z.string(),
});

const PinnedTool = z.strictObject({
  /** The definition hash the tool may be served at; absent while its first definition awaits approval. */
  hash: ContentHash.optional(),
  /** When the pin was set (first use or approval). */
  pinnedAt: z.string().optional(),
  /** The pin came from `mcpwatch proxy approve`, not from first use. */
  approved: z.boolean().default(false),
  pending: PendingDefinition.optional(),
});

/** One server's pins: the file `mcpwatch proxy --enforce` keeps and `mcpwatch proxy approve` edits. */
export const PinFile = z.strictObject({
  /** Format version of this file. */
  version: z.literal(1),
  /** The server name the pins belong to (`--name`, or derived from the command or URL). */
  server: z.string(),
  /** Pins by tool name. */
  tools: z.record(z.string(), PinnedTool),
});

export type PinFile = z.infer<typeof PinFile>;
export type PinnedTool = z.infer<typeof PinnedTool>;

/** `~/.mcpwatch/pins`, or `MCPWATCH_PIN_DIR`. */
export function defaultPinDirectory(): string {
  return process.env['MCPWATCH_PIN_DIR'] ?? join(homedir(), '.mcpwatch', 'pins');
}

/** A file name for a server name: unsafe characters become `_`, a short hash keeps distinct names distinct. */
export function pinFileName(server: string): string {
  const safe = server.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  let hash = 0;
  for (let i = 0; i < server.length; i++) hash = (Math.imul(hash, 31) + server.charCodeAt(i)) >>> 0;
  return `${safe}-${hash.toString(16).padStart(8, '0')}.json`;
}

/** Reads and writes one server's pin file; every write replaces the file atomically (temp file + rename). */
export class PinStore {
  constructor(
    readonly server: string,
    readonly path: string,
  ) {}

  static forServer(server: string, file?: string): PinStore {
    return new PinStore(server, file ?? join(defaultPinDirectory(), pinFileName(server)));
  }

  /** The pins; an absent file is an empty store, an unreadable or invalid one throws `INPUT_INVALID`. */
  async read(): Promise<PinFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, server: this.server, tools: {} };
      throw new McpwatchError('INPUT_INVALID', `pin store ${this.path} cannot be read`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new McpwatchError('INPUT_INVALID', `pin store ${this.path} is not JSON`, { cause: error });
    }
    const parsed = PinFile.safeParse(json);
    if (!parsed.success)
      throw new McpwatchError('INPUT_INVALID', `pin store ${this.path}: ${describeIssues(issuesOf(parsed.error))}`);
    return parsed.data;
  }

  async write(pins: PinFile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    await writeFile(temp, JSON.stringify(pins, null, 2) + '\n', { mode: 0o600 });
    await rename(temp, this.path);
  }
}
