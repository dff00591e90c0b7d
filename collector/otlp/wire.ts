/**
 * A protobuf wire-format reader over one buffer, bounded to `[pos, end)`: the decoder walks a message field by
 * field and can leave a length-delimited field it does not want (an unknown field, an over-limit record) by
 * jumping over its bytes, at no cost. Malformed input throws `WireError`; nothing here allocates per field
 * except the strings it is asked for.
 */
import { isUtf8 } from 'node:buffer';

export class WireError extends Error {}

export const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

export class WireReader {
  pos: number;
  /** Set by `varint64`: the low and high 32 bits, both unsigned. */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint of up to 53 bits as a number (tags, lengths, counts). */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= this.end) throw new WireError('truncated varint');
      if (shift > 63) throw new WireError('varint longer than 10 bytes');
      const byte = buf[pos++]!;
      if (shift < 28) result |= (byte & 0x7f) << shift;
      else if (shift < 53) result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    this.pos = pos;
    return result;
  }

  /** A 64-bit varint into `lo`/`hi`. */
  varint64(): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let byte = 0x80;
    let index = 0;
    for (; index < 4 && byte >= 0x80; index++) {
      if (pos >= this.end) throw new WireError('truncated varint');
      byte = buf[pos++]!;
      lo |= (byte & 0x7f) << (index * 7);
    }
    if (byte >= 0x80) {
      if (pos >= this.end) throw new WireError('truncated varint');
      byte = buf[pos++]!;
      lo |= (byte & 0x7f) << 28;
      hi = (byte & 0x7f) >> 4;
      for (let shift = 3; byte >= 0x80; shift += 7) {
        if (shift > 31) throw new WireError('varint longer than 10 bytes');
        if (pos >= this.end) throw new WireError('truncated varint');
        byte = buf[pos++]!;
        hi |= (byte & 0x7f) << shift;
      }
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** An `int32` or enum: the low 32 bits of the varint, signed. */
  int32(): number {
    this.varint64();
    return this.lo | 0;
  }

  /** An `int64` as a number when it is a safe integer, else its decimal string. */
  int64(): number | string {
    this.varint64();
    const high = this.hi | 0;
    const value = high * 4_294_967_296 + this.lo;
    if (Number.isSafeInteger(value)) return value;
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo)).toString();
  }

  bool(): boolean {
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  fixed64(): bigint {
    this.need(8);
    const value = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return value;
  }

  double(): number {
    this.need(8);
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** Reads a length prefix and returns where the field's bytes end; `pos` is then at their start. */
  len(): number {
    const length = this.varint();
    this.need(length);
    return this.pos + length;
  }

  /** The UTF-8 text of `[start, end)`; proto3 requires valid UTF-8 in `string` fields. */
  text(start: number, end: number): string {
    const buf = this.buf;
    let ascii = true;
    for (let index = start; index < end; index++) {
      if (buf[index]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return buf.toString('latin1', start, end);
    if (!isUtf8(buf.subarray(start, end))) throw new WireError('string field is not valid UTF-8');
    return buf.toString('utf8', start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE.varint:
        this.varint64();
        return;
      case WIRE.i64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE.len:
        this.pos = this.len();
        return;
      case WIRE.i32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        // Groups (3, 4) are deprecated and absent from OTLP; anything else is not protobuf.
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }

  private need(bytes: number): void {
    if (bytes > this.end - this.pos) throw new WireError('field extends past the end of its message');
  }
}
