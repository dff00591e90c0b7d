import type { Logger } from 'pino';
import type { EnforcementEvent, McpTransport, ToolDefinition } from '../contracts/mcp-event.ts';
// The gateway is a top layer like the CLI: it may reuse the detectors' pattern library, never their runtime.
import { INSTRUCTION_PATTERNS, SENSITIVE_PATH_PATTERNS, scanTexts, scoreOf } from '../detectors/rules/lib/patterns.ts';
import { toolTexts } from '../detectors/rules/lib/text.ts';
import { findHiddenCharacters } from '../detectors/rules/lib/unicode.ts';
import { toolDefinition } from '../observer/catalog.ts';
import { guard } from '../observer/telemetry.ts';
import type { Telemetry } from '../observer/telemetry.ts';
import type { AuditEvent, ServerRef } from '../observer/types.ts';
import type { PinFile, PinStore } from './pin-store.ts';

/** Score at which the content rules flag a definition: the `tool-poisoning` rule's default threshold. */
const FLAG_THRESHOLD = 3;
const PATTERNS = [...INSTRUCTION_PATTERNS, ...SENSITIVE_PATH_PATTERNS];
/** Distinct (tool, hash, where) block decisions emitted as events; later repeats are not re-emitted. */
const MAX_REPORTED = 4096;
/** The JSON-RPC error code a withheld tool's calls are answered with (implementation-defined server range). */
export const TOOL_WITHHELD_ERROR_CODE = -32050;

export type PinStoreFailureMode = 'open' | 'closed';

export interface Withheld {
  reason: 'drift' | 'flagged' | 'pin-store-unreadable';
  hash?: string;
}

/** Signals of the content rules (hidden instructions, sensitive paths, invisible characters) in one definition. */
export function contentSignals(definition: ToolDefinition): string[] {
  const texts = toolTexts(definition);
  const hits = scanTexts(texts, PATTERNS);
  const signals = scoreOf(hits) >= FLAG_THRESHOLD ? new Set(hits.map((hit) => hit.signal)) : new Set<string>();
  for (const text of texts) if (findHiddenCharacters(text) !== undefined) signals.add('hidden-unicode');
  return [...signals].slice(0, 32);
}

export interface ToolGateOptions {
  store: PinStore;
  onUnreadable: PinStoreFailureMode;
  telemetry: Telemetry;
  /** The gateway's name for the server (the pin file's), which events are attributed to. */
  server: ServerRef;
  transport: McpTransport;
  logger: Logger;
}

/**
 * Pin-and-approve for one server (`--enforce`): the first definition of a tool is pinned; a tool whose
 * definition drifts from its pin, or that the content rules flag, is withheld from `tools/list` and its calls
 * are refused until `mcpwatch proxy approve`. Approvals made meanwhile are seen at the next list or call: the
 * store is read each time. Every decision is an `enforcement` audit event.
 */
export class ToolGate {
  readonly #withheld = new Map<string, Withheld>();
  readonly #reported = new Set<string>();
  #writes: Promise<void> = Promise.resolve();

  constructor(private readonly options: ToolGateOptions) {}

  /** The tools to serve out of a `tools/list` result's `tools`; the others are withheld and recorded. */
  async filterToolList(tools: readonly unknown[]): Promise<unknown[]> {
    const pins = await this.#read();
    if (pins === undefined) {
      if (this.options.onUnreadable === 'open') return [...tools];
      for (const tool of tools) {
        const name = nameOf(tool);
        if (name === undefined) continue;
        this.#withheld.set(name, { reason: 'pin-store-unreadable' });
        this.#report('blocked', 'pin-store-unreadable', name, 'tools/list');
      }
      return [];
    }
    const served: unknown[] = [];
    let changed = false;
    const now = new Date().toISOString();
    for (const tool of tools) {
      const name = nameOf(tool);
      if (name === undefined) {
        served.push(tool);
        continue;
      }
      const definition = toolDefinition(tool as Record<string, unknown>);
      const pin = pins.tools[name];
      if (pin?.hash === definition.hash) {
        this.#withheld.delete(name);
        served.push(tool);
        continue;
      }
      const signals = contentSignals(definition);
      if (pin === undefined && signals.length === 0) {
        pins.tools[name] = { hash: definition.hash, pinnedAt: now, approved: false };
        changed = true;
        this.#withheld.delete(name);
        this.#report('pinned', 'first-use', name, undefined, definition.hash);
        served.push(tool);
        continue;
      }
      const reason = pin?.hash !== undefined ? 'drift' : 'flagged';
      if (pin?.pending?.hash !== definition.hash) {
        pins.tools[name] = {
          ...(pin ?? { approved: false }),
          pending: { hash: definition.hash, reason, signals, seenAt: now },
        };
        changed = true;
      }
      this.#withheld.set(name, { reason, hash: definition.hash });
      this.#report('blocked', reason, name, 'tools/list', definition.hash, pin?.hash, signals);
    }
    if (changed) await this.#write(pins);
    return served;
  }

  /** Why a call to `tool` is refused, or `undefined` to relay it. */
  async refusal(tool: string): Promise<Withheld | undefined> {
    const withheld = this.#withheld.get(tool);
    if (withheld === undefined) return undefined;
    const pins = await this.#read();
    if (pins === undefined) {
      if (this.options.onUnreadable === 'open') return undefined;
      this.#report('blocked', 'pin-store-unreadable', tool, 'tools/call');
      return { reason: 'pin-store-unreadable' };
    }
    if (withheld.hash !== undefined && pins.tools[tool]?.hash === withheld.hash) {
      this.#withheld.delete(tool);
      return undefined;
    }
    this.#report('blocked', withheld.reason, tool, 'tools/call', withheld.hash, pins.tools[tool]?.hash);
    return withheld;
  }

  /** The JSON-RPC error a refused call is answered with. */
  errorFor(tool: string, withheld: Withheld): { code: number; message: string; data: Record<string, unknown> } {
    const why =
      withheld.reason === 'drift'
        ? 'its definition changed since it was pinned'
        : withheld.reason === 'flagged'
          ? 'its definition matches mcpwatch content rules (hidden instructions to the model)'
          : 'the pin store cannot be read';
    return {
      code: TOOL_WITHHELD_ERROR_CODE,
      message: `mcpwatch: tool "${tool}" is withheld: ${why}. Review it, then run: mcpwatch proxy approve ${quoteArg(this.options.server.name)} ${quoteArg(tool)}`,
      data: {
        reason: withheld.reason,
        tool,
        ...(withheld.hash === undefined ? {} : { definitionHash: withheld.hash }),
      },
    };
  }

  async #read(): Promise<PinFile | undefined> {
    await this.#writes;
    try {
      return await this.options.store.read();
    } catch (error) {
      this.options.logger.warn(
        { err: error, path: this.options.store.path, mode: this.options.onUnreadable },
        this.options.onUnreadable === 'open'
          ? 'Pin store unreadable; serving every tool (fail-open).'
          : 'Pin store unreadable; withholding every tool (fail-closed).',
      );
      return undefined;
    }
  }

  #write(pins: PinFile): Promise<void> {
    this.#writes = this.#writes
      .then(() => this.options.store.write(pins))
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, path: this.options.store.path }, 'Pin store write failed.'),
      );
    return this.#writes;
  }

  #report(
    action: EnforcementEvent['action'],
    reason: EnforcementEvent['reason'],
    tool: string,
    appliedTo?: 'tools/list' | 'tools/call',
    definitionHash?: string,
    pinnedHash?: string,
    signals?: string[],
  ): void {
    const key = `${action}\u0000${tool}\u0000${definitionHash ?? ''}\u0000${appliedTo ?? ''}`;
    if (this.#reported.has(key) || this.#reported.size >= MAX_REPORTED) return;
    this.#reported.add(key);
    if (action === 'blocked') this.options.logger.warn({ tool, reason, appliedTo }, 'Tool withheld until approved.');
    guard('enforcement event', () =>
      this.options.telemetry.emit(
        enforcementEvent(this.options.transport, action, reason, tool, appliedTo, definitionHash, pinnedHash, signals),
        this.options.server,
      ),
    );
  }
}

export function enforcementEvent(
  transport: McpTransport | undefined,
  action: EnforcementEvent['action'],
  reason: EnforcementEvent['reason'],
  tool: string,
  appliedTo?: 'tools/list' | 'tools/call',
  definitionHash?: string,
  pinnedHash?: string,
  signals?: string[],
): AuditEvent {
  return {
    kind: 'enforcement',
    time: new Date().toISOString(),
    ...(transport === undefined ? {} : { transport }),
    action,
    reason,
    tool: tool.slice(0, 512),
    ...(appliedTo === undefined ? {} : { appliedTo }),
    ...(definitionHash === undefined ? {} : { definitionHash }),
    ...(pinnedHash === undefined ? {} : { pinnedHash }),
    ...(signals === undefined || signals.length === 0 ? {} : { signals }),
  };
}

/** Approves the pending definitions of `tool` (or of every tool): they become the pins. Returns what was approved. */
export function approvePending(
  pins: PinFile,
  tool: string | undefined,
): { tool: string; hash: string; previous?: string }[] {
  const approved: { tool: string; hash: string; previous?: string }[] = [];
  const now = new Date().toISOString();
  for (const [name, pin] of Object.entries(pins.tools)) {
    if ((tool !== undefined && name !== tool) || pin.pending === undefined) continue;
    approved.push({ tool: name, hash: pin.pending.hash, ...(pin.hash === undefined ? {} : { previous: pin.hash }) });
    pins.tools[name] = { hash: pin.pending.hash, pinnedAt: now, approved: true };
  }
  return approved;
}

function nameOf(tool: unknown): string | undefined {
  const name = typeof tool === 'object' && tool !== null ? (tool as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function quoteArg(value: string): string {
  return /^[\w@./:-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}
