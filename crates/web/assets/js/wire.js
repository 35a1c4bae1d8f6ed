// Protobuf wire format: a Reader over one Uint8Array and a growable Writer.
// DOM-free, so node's test runner imports it as is.
//
// 64-bit integers are read as two 32-bit halves (lo, hi) and only turned into a BigInt at
// the end, because trade ids are uint64 and a JS number loses them above 2^53.

const TWO32 = 4294967296;
const utf8 = new TextDecoder('utf-8');
const utf8enc = new TextEncoder();

export class WireError extends Error {}

export class Reader {
  constructor(buf, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    // The halves of the last varint read by varint64(); fields, not a returned array, so a
    // hot decode loop allocates nothing per varint.
    this.lo = 0;
    this.hi = 0;
  }

  eof() {
    return this.pos >= this.end;
  }

  // Reads a varint into this.lo / this.hi (unsigned 32-bit halves).
  varint64() {
    let lo = 0;
    let hi = 0;
    let b;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    b = this.byte();
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b < 0x80) {
      this.lo = lo >>> 0;
      this.hi = hi;
      return;
    }
    for (let shift = 3; shift < 32; shift += 7) {
      b = this.byte();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new WireError('varint longer than 10 bytes');
  }

  byte() {
    if (this.pos >= this.end) throw new WireError('truncated message');
    return this.buf[this.pos++];
  }

  // A varint as a JS number: tags, lengths, int32, enums, bool. Lengths above 2^32 are
  // not real in this protocol, so the high half only matters for negative int32 values.
  uint32() {
    this.varint64();
    return this.lo;
  }

  int32() {
    this.varint64();
    return this.lo | 0;
  }

  sint32() {
    this.varint64();
    const n = this.lo;
    return (n >>> 1) ^ -(n & 1);
  }

  bool() {
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  uint64() {
    this.varint64();
    return joinU64(this.lo, this.hi);
  }

  int64() {
    this.varint64();
    return BigInt.asIntN(64, joinU64(this.lo, this.hi));
  }

  sint64() {
    this.varint64();
    const u = joinU64(this.lo, this.hi);
    return (u >> 1n) ^ -(u & 1n);
  }

  fixed32() {
    const p = this.need(4);
    const b = this.buf;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  sfixed32() {
    return this.fixed32() | 0;
  }

  fixed64() {
    const lo = this.fixed32();
    const hi = this.fixed32();
    return joinU64(lo, hi);
  }

  sfixed64() {
    return BigInt.asIntN(64, this.fixed64());
  }

  float() {
    const p = this.need(4);
    return new DataView(this.buf.buffer, this.buf.byteOffset + p, 4).getFloat32(0, true);
  }

  double() {
    const p = this.need(8);
    return new DataView(this.buf.buffer, this.buf.byteOffset + p, 8).getFloat64(0, true);
  }

  // Returns the start of the length-delimited payload and moves past it.
  delimited() {
    const len = this.uint32();
    return this.need(len);
  }

  bytes() {
    const p = this.delimited();
    return this.buf.slice(p, this.pos);
  }

  string() {
    const p = this.delimited();
    return decodeUtf8(this.buf, p, this.pos);
  }

  need(n) {
    const p = this.pos;
    if (n > this.end - p) throw new WireError('truncated message');
    this.pos = p + n;
    return p;
  }

  skip(wireType, fieldNumber) {
    switch (wireType) {
      case 0: this.varint64(); return;
      case 1: this.need(8); return;
      case 2: this.delimited(); return;
      case 5: this.need(4); return;
      case 3: {
        // A group: skip fields until its matching end-group tag.
        for (;;) {
          const tag = this.uint32();
          const wt = tag & 7;
          if (wt === 4) {
            if (tag >>> 3 !== fieldNumber) throw new WireError('mismatched end group');
            return;
          }
          this.skip(wt, tag >>> 3);
        }
      }
      default:
        throw new WireError(`bad wire type ${wireType}`);
    }
  }
}

function joinU64(lo, hi) {
  // Below 2^53 the number path is exact and much cheaper than shifting BigInts.
  if (hi < 0x200000) return BigInt(hi * TWO32 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

// Most strings on this wire are short ASCII (prices, codes, cursors): building them by
// char code avoids TextDecoder's per-call overhead, which dominates at thousands of events/s.
export function decodeUtf8(buf, start, end) {
  if (end - start <= 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return utf8.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(buf.subarray(start, end));
}

export class Writer {
  constructor(size = 64) {
    this.buf = new Uint8Array(size);
    this.len = 0;
  }

  ensure(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b) {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  // Unsigned varint of a non-negative safe integer.
  uint(n) {
    if (n < 0 || !Number.isSafeInteger(n)) return this.u64(BigInt(n));
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.len++] = n;
  }

  // Any 64-bit value as its two's complement varint (negative int32/int64 take 10 bytes).
  u64(big) {
    let v = BigInt.asUintN(64, big);
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  tag(number, wireType) {
    this.uint(number * 8 + wireType);
  }

  fixed32(n) {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.len, n >>> 0, true);
    this.len += 4;
  }

  fixed64(big) {
    const v = BigInt.asUintN(64, big);
    this.fixed32(Number(v & 0xffffffffn));
    this.fixed32(Number(v >> 32n));
  }

  float(x) {
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.len, x, true);
    this.len += 4;
  }

  double(x) {
    this.ensure(8);
    new DataView(this.buf.buffer).setFloat64(this.len, x, true);
    this.len += 8;
  }

  bytes(data) {
    this.uint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(s) {
    this.bytes(utf8enc.encode(s));
  }

  finish() {
    return this.buf.slice(0, this.len);
  }
}
