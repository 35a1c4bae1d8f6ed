// Descriptor-driven protobuf encoding and decoding (proto3 semantics).
//
// Decoded objects use each field's json_name (lowerCamelCase). Scalars, enums and repeated
// fields always hold a value (their default when absent), so callers never test for
// undefined on a string price; message fields and oneof members exist only when present,
// and a real oneof also gets `obj[oneofName] = "<set member's json name>"`.
// 64-bit integers are BigInt; enums decode to their value name (unknown numbers stay numbers).

import { Reader, Writer, WireError } from './wire.js';
import { T } from './descriptor.js';

const REPEATED = Symbol('repeated');

// Wire type each scalar type is written with; packable = every type but string/bytes/message.
function wireTypeOf(type) {
  switch (type) {
    case T.DOUBLE: case T.FIXED64: case T.SFIXED64: return 1;
    case T.FLOAT: case T.FIXED32: case T.SFIXED32: return 5;
    case T.STRING: case T.BYTES: case T.MESSAGE: return 2;
    case T.GROUP: return 3;
    default: return 0;
  }
}

function defaultOf(f) {
  switch (f.type) {
    case T.STRING: return '';
    case T.BYTES: return new Uint8Array(0);
    case T.BOOL: return false;
    case T.INT64: case T.UINT64: case T.SINT64: case T.FIXED64: case T.SFIXED64: return 0n;
    case T.ENUM: return f.resolved.byNumber.has(0) ? f.resolved.byNumber.get(0) : 0;
    default: return 0;
  }
}

// Computed once per message type: the own properties a fresh decoded object starts with.
function defaultsOf(type) {
  if (type.defaults) return type.defaults;
  const d = [];
  for (const f of type.fields) {
    if (f.repeated) d.push([f.jsonName, REPEATED]);
    else if (!f.inOneof && f.type !== T.MESSAGE && f.type !== T.GROUP) d.push([f.jsonName, defaultOf(f)]);
  }
  type.defaults = d;
  return d;
}

function readScalar(f, r) {
  switch (f.type) {
    case T.STRING: return r.string();
    case T.INT32: return r.int32();
    case T.UINT32: return r.uint32();
    case T.SINT32: return r.sint32();
    case T.BOOL: return r.bool();
    case T.ENUM: {
      const n = r.int32();
      const name = f.resolved.byNumber.get(n);
      return name === undefined ? n : name;
    }
    case T.UINT64: return r.uint64();
    case T.INT64: return r.int64();
    case T.SINT64: return r.sint64();
    case T.FIXED64: return r.fixed64();
    case T.SFIXED64: return r.sfixed64();
    case T.FIXED32: return r.fixed32();
    case T.SFIXED32: return r.sfixed32();
    case T.DOUBLE: return r.double();
    case T.FLOAT: return r.float();
    case T.BYTES: return r.bytes();
    default: throw new WireError(`unsupported field type ${f.type}`);
  }
}

function readValue(f, r) {
  if (f.type === T.MESSAGE) {
    const len = r.uint32();
    const end = r.pos + len;
    if (end > r.end) throw new WireError('truncated message');
    return decodeMessage(f.resolved, r, end);
  }
  return readScalar(f, r);
}

function decodeMessage(type, r, end) {
  const obj = {};
  const defaults = type.defaults || defaultsOf(type);
  for (let i = 0; i < defaults.length; i++) {
    const d = defaults[i];
    obj[d[0]] = d[1] === REPEATED ? [] : d[1];
  }
  const byNumber = type.byNumber;
  while (r.pos < end) {
    const tag = r.uint32();
    const number = tag >>> 3;
    const wt = tag & 7;
    const f = byNumber[number];
    if (f === undefined || f.type === T.GROUP) {
      r.skip(wt, number);
      continue;
    }
    const expected = wireTypeOf(f.type);
    if (f.repeated) {
      const arr = obj[f.jsonName];
      if (wt === 2 && expected !== 2) {
        // Packed scalars: one length-delimited run of values.
        const len = r.uint32();
        const stop = r.pos + len;
        if (stop > end) throw new WireError('truncated packed field');
        while (r.pos < stop) arr.push(readScalar(f, r));
      } else if (wt === expected) {
        arr.push(readValue(f, r));
      } else {
        r.skip(wt, number);
      }
    } else if (wt === expected) {
      obj[f.jsonName] = readValue(f, r);
      if (f.oneof) obj[f.oneof] = f.jsonName;
    } else {
      r.skip(wt, number);
    }
  }
  if (r.pos !== end) throw new WireError('field overruns its message');
  return obj;
}

export function decode(registry, typeName, bytes) {
  const type = typeof typeName === 'string' ? registry.message(typeName) : typeName;
  const r = new Reader(bytes);
  return decodeMessage(type, r, bytes.length);
}

function toBig(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return BigInt(String(v).trim());
}

function enumNumber(f, v) {
  if (typeof v === 'number') return v;
  const n = f.resolved.byName.get(v);
  if (n === undefined) throw new Error(`${f.name}: unknown ${f.resolved.fullName} value ${v}`);
  return n;
}

// Writes one value without its tag.
function writeScalar(f, v, w) {
  switch (f.type) {
    case T.STRING: w.string(String(v)); return;
    case T.BYTES: w.bytes(v); return;
    case T.BOOL: w.uint(v ? 1 : 0); return;
    case T.ENUM: { const n = enumNumber(f, v); if (n < 0) w.u64(BigInt(n)); else w.uint(n); return; }
    case T.INT32: if (v < 0) w.u64(BigInt(v | 0)); else w.uint(v | 0); return;
    case T.UINT32: w.uint(v >>> 0); return;
    case T.SINT32: w.uint(((v << 1) ^ (v >> 31)) >>> 0); return;
    case T.INT64: case T.UINT64: w.u64(toBig(v)); return;
    case T.SINT64: { const b = BigInt.asIntN(64, toBig(v)); w.u64((b << 1n) ^ (b >> 63n)); return; }
    case T.FIXED32: case T.SFIXED32: w.fixed32(Number(v)); return;
    case T.FIXED64: case T.SFIXED64: w.fixed64(toBig(v)); return;
    case T.DOUBLE: w.double(Number(v)); return;
    case T.FLOAT: w.float(Number(v)); return;
    case T.MESSAGE: {
      const sub = new Writer();
      encodeMessage(f.resolved, v, sub);
      w.bytes(sub.buf.subarray(0, sub.len));
      return;
    }
    default: throw new Error(`unsupported field type ${f.type}`);
  }
}

function isDefault(f, v) {
  switch (f.type) {
    case T.STRING: return v === '';
    case T.BYTES: return v.length === 0;
    case T.BOOL: return !v;
    case T.ENUM: return enumNumber(f, v) === 0;
    case T.INT64: case T.UINT64: case T.SINT64: case T.FIXED64: case T.SFIXED64:
      return toBig(v) === 0n;
    case T.MESSAGE: return false;
    default: return Number(v) === 0 && !Object.is(Number(v), -0);
  }
}

function encodeMessage(type, obj, w) {
  for (const f of type.fields) {
    let v = obj[f.jsonName];
    if (v === undefined) v = obj[f.name];
    if (v === undefined || v === null) continue;
    const wt = wireTypeOf(f.type);
    if (f.repeated) {
      if (!v.length) continue;
      if (wt !== 2) {
        const packed = new Writer();
        for (const x of v) writeScalar(f, x, packed);
        w.tag(f.number, 2);
        w.bytes(packed.buf.subarray(0, packed.len));
      } else {
        for (const x of v) {
          w.tag(f.number, 2);
          writeScalar(f, x, w);
        }
      }
      continue;
    }
    // proto3: a field outside a oneof at its default is not written; a oneof member is,
    // because its presence is the information.
    if (!f.inOneof && isDefault(f, v)) continue;
    w.tag(f.number, wt);
    writeScalar(f, v, w);
  }
}

export function encode(registry, typeName, obj) {
  const type = typeof typeName === 'string' ? registry.message(typeName) : typeName;
  const w = new Writer();
  encodeMessage(type, obj || {}, w);
  return w.finish();
}

// google.protobuf.Timestamp <-> milliseconds since the epoch (a float; sub-ms kept).
export function tsFromMs(ms) {
  const whole = Math.floor(ms);
  const seconds = Math.floor(whole / 1000);
  const nanos = (whole - seconds * 1000) * 1e6 + Math.round((ms - whole) * 1e6);
  return { seconds: BigInt(seconds), nanos };
}

export function tsToMs(ts) {
  if (!ts) return NaN;
  return Number(ts.seconds) * 1000 + ts.nanos / 1e6;
}

// Whole microseconds: exact as a number until the year 2255, and cheap to compare.
export function tsToMicros(ts) {
  if (!ts) return 0;
  return Number(ts.seconds) * 1e6 + Math.floor(ts.nanos / 1000);
}
