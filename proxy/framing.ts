/**
 * Copies of relayed bytes cut into messages for the observer. The relay never waits on these: it writes a
 * chunk on, then hands the same chunk here. What is observed is bounded; what is relayed is not.
 */

import { StringDecoder } from 'node:string_decoder';

/** Newline-delimited JSON-RPC (the stdio transport): one message per line, `\n` ends it, `\r\n` tolerated. */
export class LineSplitter {
  readonly #parts: Buffer[] = [];
  #size = 0;
  #overflowed = false;

  /**
   * @param maxLineBytes a longer line is not observed (its bytes are dropped here until its end), and counted.
   */
  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversize: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, start);
      if (end === -1) {
        this.#append(chunk.subarray(start));
        return;
      }
      this.#append(chunk.subarray(start, end));
      this.#emit();
      start = end + 1;
    }
  }

  #append(part: Buffer): void {
    if (part.length === 0 || this.#overflowed) return;
    if (this.#size + part.length > this.maxLineBytes) {
      this.#overflowed = true;
      this.#parts.length = 0;
      this.#size = 0;
      return;
    }
    this.#parts.push(part);
    this.#size += part.length;
  }

  #emit(): void {
    if (this.#overflowed) {
      this.#overflowed = false;
      this.onOversize();
      return;
    }
    const line = (this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#size)).toString('utf8');
    this.#parts.length = 0;
    this.#size = 0;
    if (line.trim() !== '') this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/** One server-sent event as the parser saw it (WHATWG HTML, "event stream interpretation"). */
export interface SseEvent {
  data: string;
  event?: string;
  id?: string;
  retry?: string;
}

/** Server-sent events from a copy of a `text/event-stream` body; an event larger than the bound is dropped and counted. */
export class SseParser {
  #line = '';
  #data: string[] = [];
  #dataChars = 0;
  #event: string | undefined;
  #id: string | undefined;
  #retry: string | undefined;
  #overflowed = false;
  #lastWasCr = false;
  /** Cheaper to make than a `TextDecoder` (one parser per SSE response), but it keeps a leading BOM. */
  readonly #decoder = new StringDecoder('utf8');
  #atStart = true;

  constructor(
    private readonly maxEventChars: number,
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onOversize: () => void,
  ) {}

  push(chunk: Buffer): void {
    let text = this.#decoder.write(chunk);
    if (this.#atStart && text !== '') {
      this.#atStart = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    if (!this.#lastWasCr && !text.includes('\r')) return this.#pushLf(text);
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code !== 0x0a && code !== 0x0d) continue;
      // `\r\n` is one line end: the `\n` after a `\r` ends nothing.
      if (code === 0x0a && this.#lastWasCr && i === start) {
        this.#lastWasCr = false;
        start = i + 1;
        continue;
      }
      this.#appendLine(text.slice(start, i));
      this.#processLine();
      this.#lastWasCr = code === 0x0d;
      start = i + 1;
    }
    if (start < text.length) {
      this.#lastWasCr = false;
      this.#appendLine(text.slice(start));
    }
  }

  /** `push` for text whose lines all end in `\n` (what servers send): no look at each character. */
  #pushLf(text: string): void {
    let start = 0;
    let end: number;
    while ((end = text.indexOf('\n', start)) !== -1) {
      this.#appendLine(text.slice(start, end));
      this.#processLine();
      start = end + 1;
    }
    if (start < text.length) this.#appendLine(text.slice(start));
  }

  #appendLine(part: string): void {
    if (this.#overflowed) return;
    if (this.#line.length + part.length > this.maxEventChars) {
      this.#overflowed = true;
      this.#line = '';
      return;
    }
    this.#line += part;
  }

  #processLine(): void {
    const line = this.#line;
    this.#line = '';
    if (line === '') return this.#dispatch();
    if (this.#overflowed || line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.#dataChars += value.length + 1;
      if (this.#dataChars > this.maxEventChars) {
        this.#overflowed = true;
        this.#data = [];
        return;
      }
      this.#data.push(value);
    } else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\u0000')) this.#id = value;
    else if (field === 'retry' && /^\d{1,10}$/.test(value)) this.#retry = value;
  }

  #dispatch(): void {
    const overflowed = this.#overflowed;
    const data = this.#data;
    const event = this.#event;
    const id = this.#id;
    const retry = this.#retry;
    this.#id = undefined;
    this.#retry = undefined;
    this.#data = [];
    this.#dataChars = 0;
    this.#event = undefined;
    this.#overflowed = false;
    if (overflowed) return this.onOversize();
    if (data.length === 0 && id === undefined && retry === undefined) return;
    this.onEvent({
      data: data.join('\n'),
      ...(event === undefined ? {} : { event }),
      ...(id === undefined ? {} : { id }),
      ...(retry === undefined ? {} : { retry }),
    });
  }
}

/** The JSON-RPC messages in one body or line (a batch is several), or `undefined` when it is not JSON-RPC. */
export function jsonRpcMessages(text: string): Record<string, unknown>[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const list = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
  if (list.length === 0) return undefined;
  const messages: Record<string, unknown>[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
    messages.push(item as Record<string, unknown>);
  }
  return messages;
}
