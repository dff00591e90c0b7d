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
  /** The start of a line that the last chunk did not end. */
  #partial = '';
  #data: string | undefined;
  #dataChars = 0;
  #event: string | undefined;
  #id: string | undefined;
  #retry: string | undefined;
  #overflowed = false;
  /** Whether the line being read has begun in an earlier chunk (a line end then ends no blank line). */
  #lineOpen = false;
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
      this.#line(text, start, i);
      this.#lastWasCr = code === 0x0d;
      start = i + 1;
    }
    if (start < text.length) {
      this.#lastWasCr = false;
      this.#keepPartial(text, start);
    }
  }

  /** `push` for text whose lines all end in `\n` (what servers send): no look at each character. */
  #pushLf(text: string): void {
    let start = 0;
    let end: number;
    while ((end = text.indexOf('\n', start)) !== -1) {
      this.#line(text, start, end);
      start = end + 1;
    }
    if (start < text.length) this.#keepPartial(text, start);
  }

  #keepPartial(text: string, start: number): void {
    this.#lineOpen = true;
    if (this.#overflowed) return;
    if (this.#partial.length + text.length - start > this.maxEventChars) {
      this.#overflowed = true;
      this.#partial = '';
    } else this.#partial += text.slice(start);
  }

  /**
   * The line `text[start, end)`, read where it lies: only a field's value is cut out. An event over the bound is
   * skipped up to the blank line that ends it, as the client reads it: no part of it is taken for an event.
   */
  #line(text: string, start: number, end: number): void {
    const open = this.#lineOpen;
    this.#lineOpen = false;
    if (!open && start === end) return this.#dispatch();
    if (this.#partial !== '') {
      const partial = this.#partial;
      this.#partial = '';
      if (partial.length + end - start > this.maxEventChars) this.#overflowed = true;
      else {
        text = partial + text.slice(start, end);
        start = 0;
        end = text.length;
      }
    }
    if (!this.#overflowed && end - start > this.maxEventChars) this.#overflowed = true;
    if (this.#overflowed) return;
    let colon = start;
    while (colon < end && text.charCodeAt(colon) !== 0x3a) colon++;
    if (colon === start) return; // a comment
    let valueStart = colon < end ? colon + 1 : end;
    if (valueStart < end && text.charCodeAt(valueStart) === 0x20) valueStart++;
    const fieldLength = colon - start;
    if (fieldLength === 4 && text.startsWith('data', start)) {
      this.#dataChars += end - valueStart + 1;
      if (this.#dataChars > this.maxEventChars) {
        this.#overflowed = true;
        this.#data = undefined;
        return;
      }
      const value = text.slice(valueStart, end);
      this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
    } else if (fieldLength === 5 && text.startsWith('event', start)) this.#event = text.slice(valueStart, end);
    else if (fieldLength === 2 && text.startsWith('id', start)) {
      const value = text.slice(valueStart, end);
      if (!value.includes('\u0000')) this.#id = value;
    } else if (fieldLength === 5 && text.startsWith('retry', start)) {
      const value = text.slice(valueStart, end);
      if (/^\d{1,10}$/.test(value)) this.#retry = value;
    }
  }

  #dispatch(): void {
    const overflowed = this.#overflowed;
    const data = this.#data;
    const event = this.#event;
    const id = this.#id;
    const retry = this.#retry;
    this.#id = undefined;
    this.#retry = undefined;
    this.#data = undefined;
    this.#dataChars = 0;
    this.#event = undefined;
    this.#overflowed = false;
    if (overflowed) return this.onOversize();
    if (data === undefined && id === undefined && retry === undefined) return;
    const dispatched: SseEvent = { data: data ?? '' };
    if (event !== undefined) dispatched.event = event;
    if (id !== undefined) dispatched.id = id;
    if (retry !== undefined) dispatched.retry = retry;
    this.onEvent(dispatched);
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
  // A single message, the usual case, is returned in a list of its own; a batch as parsed.
  if (!Array.isArray(parsed)) return isMessage(parsed) ? [parsed] : undefined;
  const batch = parsed as unknown[];
  return batch.length > 0 && batch.every(isMessage) ? batch : undefined;
}

const isMessage = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
