/**
 * A bounded, crash-safe FIFO of rows waiting for Azure Monitor. Rows are appended as JSON lines to segment files
 * and fsynced before `append` resolves; an ack cursor (the sequence number of the first row not yet done) is
 * replaced atomically after each delivered batch. After a crash the rows from the cursor on are read back, so a
 * row is never lost once `append` resolved, and a row delivered just before the crash may be sent again.
 *
 * Layout of the directory: `segment-<first sequence number, 16 digits>.jsonl`, `cursor.json`.
 */
import { mkdir, open, readdir, readFile, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { McpwatchError } from '../../../contracts/errors.ts';

export interface SpooledRow {
  /** Position in the spool; acking `seq` marks every row before it done too. */
  readonly seq: number;
  /** The data collection rule stream the row is for. */
  readonly stream: string;
  readonly row: Record<string, unknown>;
  /** UTF-8 length of the row's JSON. */
  readonly bytes: number;
}

export interface SpoolOptions {
  directory: string;
  /** Rows waiting may take at most this much; `append` refuses beyond (retriable), nothing is dropped. */
  maxBytes: number;
  /** A segment is closed and a new one begun past this size. */
  segmentBytes: number;
}

export interface SpoolRecovery {
  /** Rows read back that were not yet acked. */
  pending: number;
  /** A half-written last line (the append never resolved) was cut off. */
  tornTail: boolean;
  /** Lines that did not parse; returned as text so the caller can dead-letter them. */
  unreadable: string[];
}

interface Segment {
  firstSeq: number;
  path: string;
}

const SEGMENT_PATTERN = /^segment-(\d{16})\.jsonl$/;

export class Spool {
  private readonly pending: SpooledRow[] = [];
  private pendingBytes = 0;
  private readonly segments: Segment[] = [];
  private current: { handle: FileHandle; size: number } | undefined;
  private nextSeq = 0;
  private acked = 0;
  /** Serializes appends (and segment rolls) against each other. */
  private appending: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: SpoolOptions) {}

  static async open(options: SpoolOptions): Promise<{ spool: Spool; recovery: SpoolRecovery }> {
    const spool = new Spool(options);
    const recovery = await spool.recover();
    return { spool, recovery };
  }

  get size(): number {
    return this.pending.length;
  }

  get bytes(): number {
    return this.pendingBytes;
  }

  get full(): boolean {
    return this.pendingBytes >= this.options.maxBytes;
  }

  /** Rows not yet acked, oldest first. The array is live: do not keep it across awaits. */
  peek(): readonly SpooledRow[] {
    return this.pending;
  }

  /** Durably appends rows (one fsync for all) and returns them with their sequence numbers. */
  async append(rows: readonly { stream: string; row: Record<string, unknown> }[]): Promise<SpooledRow[]> {
    const result = this.appending.then(() => this.appendNow(rows));
    this.appending = result.catch(() => undefined);
    return result;
  }

  /** Marks every row with `seq` below `untilSeq` done and persists the cursor. */
  async ack(untilSeq: number): Promise<void> {
    if (untilSeq <= this.acked) return;
    let done = 0;
    while (done < this.pending.length && this.pending[done]!.seq < untilSeq) {
      this.pendingBytes -= this.pending[done]!.bytes;
      done += 1;
    }
    this.pending.splice(0, done);
    this.acked = untilSeq;
    await this.writeCursor();
    await this.removeDoneSegments();
  }

  async close(): Promise<void> {
    await this.appending;
    await this.current?.handle.close();
    this.current = undefined;
  }

  private async appendNow(rows: readonly { stream: string; row: Record<string, unknown> }[]): Promise<SpooledRow[]> {
    const encoded = rows.map(({ stream, row }) => {
      const rowJson = JSON.stringify(row);
      return {
        stream,
        row,
        bytes: Buffer.byteLength(rowJson),
        line: `{"stream":${JSON.stringify(stream)},"row":${rowJson}}\n`,
      };
    });
    const added = encoded.reduce((sum, { bytes }) => sum + bytes, 0);
    if (this.pendingBytes + added > this.options.maxBytes) {
      throw new McpwatchError(
        'DELIVERY_FAILED',
        `The Azure Monitor spool at ${this.options.directory} is full (${this.pendingBytes} of ` +
          `${this.options.maxBytes} bytes waiting); alerts were refused, not dropped.`,
        { retriable: true },
      );
    }
    if (this.current === undefined || this.current.size >= this.options.segmentBytes) await this.roll();
    const current = this.current!;
    const buffer = Buffer.from(encoded.map(({ line }) => line).join(''));
    await current.handle.write(buffer, 0, buffer.length);
    await current.handle.datasync();
    current.size += buffer.length;
    const spooled = encoded.map(({ stream, row, bytes }, index) => ({ seq: this.nextSeq + index, stream, row, bytes }));
    this.nextSeq += rows.length;
    this.pending.push(...spooled);
    this.pendingBytes += added;
    return spooled;
  }

  private async roll(): Promise<void> {
    await this.current?.handle.close();
    const path = join(this.options.directory, `segment-${String(this.nextSeq).padStart(16, '0')}.jsonl`);
    const handle = await open(path, 'a');
    this.current = { handle, size: 0 };
    this.segments.push({ firstSeq: this.nextSeq, path });
    await syncDirectory(this.options.directory);
  }

  private async recover(): Promise<SpoolRecovery> {
    const { directory } = this.options;
    await mkdir(directory, { recursive: true });
    const recovery: SpoolRecovery = { pending: 0, tornTail: false, unreadable: [] };
    const cursorText = await readFile(join(directory, 'cursor.json'), 'utf8').catch(() => undefined);
    if (cursorText !== undefined) {
      const cursor = JSON.parse(cursorText) as { acked?: unknown };
      if (typeof cursor.acked !== 'number' || !Number.isSafeInteger(cursor.acked) || cursor.acked < 0) {
        throw new McpwatchError('CONFIG_INVALID', `${directory}/cursor.json is not a spool cursor`);
      }
      this.acked = cursor.acked;
    }
    const names = (await readdir(directory)).filter((name) => SEGMENT_PATTERN.test(name)).sort();
    this.nextSeq = this.acked;
    for (const name of names) {
      const firstSeq = Number(SEGMENT_PATTERN.exec(name)![1]);
      const path = join(directory, name);
      const text = await readFile(path, 'utf8');
      const complete = text.lastIndexOf('\n') + 1;
      if (complete < text.length) {
        await truncate(path, Buffer.byteLength(text.slice(0, complete)));
        recovery.tornTail = true;
      }
      const lines = text.slice(0, complete).split('\n').slice(0, -1);
      if (lines.length === 0) {
        await rm(path, { force: true });
        continue;
      }
      this.segments.push({ firstSeq, path });
      lines.forEach((line, index) => {
        const seq = firstSeq + index;
        if (seq < this.acked) return;
        try {
          const { stream, row } = JSON.parse(line) as { stream: string; row: Record<string, unknown> };
          const bytes = Buffer.byteLength(JSON.stringify(row));
          this.pending.push({ seq, stream, row, bytes });
          this.pendingBytes += bytes;
        } catch {
          recovery.unreadable.push(line);
        }
      });
      this.nextSeq = Math.max(this.nextSeq, firstSeq + lines.length);
    }
    recovery.pending = this.pending.length;
    await this.removeDoneSegments();
    return recovery;
  }

  private async writeCursor(): Promise<void> {
    const path = join(this.options.directory, 'cursor.json');
    const handle = await open(path + '.tmp', 'w');
    try {
      await handle.writeFile(JSON.stringify({ acked: this.acked }) + '\n');
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(path + '.tmp', path);
    await syncDirectory(this.options.directory);
  }

  /** Deletes segments all of whose rows are acked, never the one being appended to. */
  private async removeDoneSegments(): Promise<void> {
    while (this.segments.length > 1 && this.segments[1]!.firstSeq <= this.acked) {
      await rm(this.segments.shift()!.path, { force: true });
    }
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
