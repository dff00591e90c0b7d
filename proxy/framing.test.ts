/** The bounded copies the observer is fed: newline-delimited JSON-RPC and server-sent events, cut anywhere. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonRpcMessages, LineSplitter, SseParser } from './framing.ts';
import type { SseEvent } from './framing.ts';

/** Feeds `text` in pieces of `size` bytes (UTF-8 characters may be cut in two). */
function feed(push: (chunk: Buffer) => void, text: string, size: number): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let start = 0; start < bytes.length; start += size) push(bytes.subarray(start, start + size));
}

/** The events and the count of oversize ones an `SseParser` bounded at `maxEventChars` reads from `text`. */
function readSse(text: string, maxEventChars: number, size: number): { events: SseEvent[]; oversize: number } {
  const read = { events: [] as SseEvent[], oversize: 0 };
  const parser = new SseParser(
    maxEventChars,
    (event) => read.events.push(event),
    () => read.oversize++,
  );
  feed((chunk) => parser.push(chunk), text, size);
  return read;
}

void test('lines: cut at any byte, CRLF tolerated, blank lines skipped, an oversize line counted and skipped', () => {
  const text = '{"a":"é€"}\r\n\n{"b":2}\n' + 'x'.repeat(100) + '\n{"c":3}\n{"unterminated"';
  for (const size of [1, 2, 3, 7, 1000]) {
    const lines: string[] = [];
    let oversize = 0;
    const splitter = new LineSplitter(
      64,
      (line) => lines.push(line),
      () => oversize++,
    );
    feed((chunk) => splitter.push(chunk), text, size);
    assert.deepEqual(lines, ['{"a":"é€"}', '{"b":2}', '{"c":3}'], `chunks of ${size}`);
    assert.equal(oversize, 1, `chunks of ${size}`);
  }
});

void test('server-sent events: fields, multi-line data, CR/LF/CRLF line ends, comments, oversize events', () => {
  const text =
    ': a comment\n' +
    'id: 7\nevent: message\ndata: {"jsonrpc":"2.0",\ndata: "method":"x"}\n\n' +
    'data: crlf\r\n\r\n' +
    'data: cr\r\r' +
    'retry: 1000\nretry: soon\n\n' +
    `data: ${'y'.repeat(200)}\n\n` +
    'data:no space\n\n' +
    'data: never dispatched';
  for (const size of [1, 2, 5, 1000]) {
    const { events, oversize } = readSse(text, 100, size);
    assert.deepEqual(
      events,
      [
        { data: '{"jsonrpc":"2.0",\n"method":"x"}', event: 'message', id: '7' },
        { data: 'crlf' },
        { data: 'cr' },
        { data: '', retry: '1000' },
        { data: 'no space' },
      ],
      `chunks of ${size}`,
    );
    assert.equal(oversize, 1, `chunks of ${size}`);
  }
});

void test('server-sent events: an event over the bound is skipped whole, up to the blank line that ends it', () => {
  // What follows the overflow in the same event reaches the client inside that event, never as one of its own.
  const fake = 'data: {"id":1}\n';
  const streams = [
    `data: aaaa\ndata: bbbb\ndata: cccc\n${fake}id: 1\n\ndata: ok\n\n`, // data lines over the bound together
    `data: ${'y'.repeat(40)}\n${fake}\ndata: ok\n\n`, // one line over the bound
  ];
  for (const stream of streams) {
    for (const size of [1, 3, 7, 1000]) {
      const { events, oversize } = readSse(stream, 12, size);
      assert.deepEqual(events, [{ data: 'ok' }], `chunks of ${size}`);
      assert.equal(oversize, 1, `chunks of ${size}`);
    }
  }
});

void test('server-sent events: a byte order mark opening the stream is not part of its first field', () => {
  const { events } = readSse('\uFEFFdata: first\n\ndata: \uFEFFsecond\n\n', 100, 1);
  assert.deepEqual(events, [{ data: 'first' }, { data: '\uFEFFsecond' }]);
});

void test('JSON-RPC messages: an object or a non-empty batch of objects; anything else is not JSON-RPC', () => {
  assert.deepEqual(jsonRpcMessages('{"jsonrpc":"2.0","method":"x"}'), [{ jsonrpc: '2.0', method: 'x' }]);
  assert.deepEqual(jsonRpcMessages('[{"id":1},{"id":2}]'), [{ id: 1 }, { id: 2 }]);
  for (const text of ['[]', '[1]', '"text"', 'null', '{"a":', '[{"id":1},[]]', 'not json'])
    assert.equal(jsonRpcMessages(text), undefined, text);
});
