// Reads a google.protobuf.FileDescriptorSet (what the server sends at /descriptors.pb) into
// a registry of message, enum and service types. Only the few descriptor.proto fields the
// codec needs are decoded by hand; everything else is skipped, so the page needs no
// generated code and follows whatever protos the server was built with.

import { Reader, decodeUtf8 } from './wire.js';

// FieldDescriptorProto.Type numbers.
export const T = Object.freeze({
  DOUBLE: 1, FLOAT: 2, INT64: 3, UINT64: 4, INT32: 5, FIXED64: 6, FIXED32: 7, BOOL: 8,
  STRING: 9, GROUP: 10, MESSAGE: 11, BYTES: 12, UINT32: 13, ENUM: 14, SFIXED32: 15,
  SFIXED64: 16, SINT32: 17, SINT64: 18,
});
const LABEL_REPEATED = 3;

// Reads every field of one message as (number, wireType, reader) without knowing its type.
function eachField(buf, start, end, fn) {
  const r = new Reader(buf, start, end);
  while (!r.eof()) {
    const tag = r.uint32();
    const number = tag >>> 3;
    const wt = tag & 7;
    if (wt === 2) {
      const p = r.delimited();
      fn(number, wt, r, p, r.pos);
    } else if (wt === 0) {
      r.varint64();
      fn(number, wt, r);
    } else {
      r.skip(wt, number);
    }
  }
}

const str = (r, p, e) => decodeUtf8(r.buf, p, e);

export function lowerCamel(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function parseEnum(buf, start, end, scope, registry) {
  const en = { kind: 'enum', name: '', fullName: '', byNumber: new Map(), byName: new Map() };
  eachField(buf, start, end, (n, wt, r, p, e) => {
    if (n === 1 && wt === 2) en.name = str(r, p, e);
    if (n === 2 && wt === 2) {
      let vname = '';
      let vnum = 0;
      eachField(r.buf, p, e, (vn, vwt, vr, vp, ve) => {
        if (vn === 1 && vwt === 2) vname = str(vr, vp, ve);
        if (vn === 2 && vwt === 0) vnum = vr.lo | 0;
      });
      // The first name wins for aliased numbers, as protobuf's own JSON mapping does.
      if (!en.byNumber.has(vnum)) en.byNumber.set(vnum, vname);
      en.byName.set(vname, vnum);
    }
  });
  en.fullName = scope ? `${scope}.${en.name}` : en.name;
  registry.enums.set(en.fullName, en);
}

function parseField(buf, start, end) {
  const f = {
    name: '', jsonName: '', number: 0, repeated: false, type: 0, typeName: '',
    oneofIndex: -1, resolved: null,
  };
  eachField(buf, start, end, (n, wt, r, p, e) => {
    if (wt === 2) {
      if (n === 1) f.name = str(r, p, e);
      else if (n === 6) f.typeName = str(r, p, e).replace(/^\./, '');
      else if (n === 10) f.jsonName = str(r, p, e);
    } else {
      if (n === 3) f.number = r.lo;
      else if (n === 4) f.repeated = r.lo === LABEL_REPEATED;
      else if (n === 5) f.type = r.lo;
      else if (n === 9) f.oneofIndex = r.lo;
    }
  });
  if (!f.jsonName) f.jsonName = lowerCamel(f.name);
  return f;
}

function parseMessage(buf, start, end, scope, registry) {
  const msg = { kind: 'message', name: '', fullName: '', fields: [], oneofs: [], byNumber: [] };
  const nested = [];
  const enums = [];
  eachField(buf, start, end, (n, wt, r, p, e) => {
    if (wt !== 2) return;
    if (n === 1) msg.name = str(r, p, e);
    else if (n === 2) msg.fields.push(parseField(r.buf, p, e));
    else if (n === 3) nested.push([p, e]);
    else if (n === 4) enums.push([p, e]);
    else if (n === 8) {
      let oname = '';
      eachField(r.buf, p, e, (on, owt, or, op, oe) => {
        if (on === 1 && owt === 2) oname = str(or, op, oe);
      });
      msg.oneofs.push(oname);
    }
  });
  msg.fullName = scope ? `${scope}.${msg.name}` : msg.name;
  for (const [p, e] of nested) parseMessage(buf, p, e, msg.fullName, registry);
  for (const [p, e] of enums) parseEnum(buf, p, e, msg.fullName, registry);
  registry.messages.set(msg.fullName, msg);
}

function parseService(buf, start, end, scope, registry) {
  const svc = { name: '', fullName: '', methods: new Map() };
  eachField(buf, start, end, (n, wt, r, p, e) => {
    if (n === 1 && wt === 2) svc.name = str(r, p, e);
    if (n === 2 && wt === 2) {
      const m = { name: '', inputType: '', outputType: '', serverStreaming: false, path: '' };
      eachField(r.buf, p, e, (mn, mwt, mr, mp, me) => {
        if (mwt === 2 && mn === 1) m.name = str(mr, mp, me);
        else if (mwt === 2 && mn === 2) m.inputType = str(mr, mp, me).replace(/^\./, '');
        else if (mwt === 2 && mn === 3) m.outputType = str(mr, mp, me).replace(/^\./, '');
        else if (mwt === 0 && mn === 6) m.serverStreaming = mr.lo !== 0;
      });
      svc.methods.set(m.name, m);
    }
  });
  svc.fullName = scope ? `${scope}.${svc.name}` : svc.name;
  for (const m of svc.methods.values()) m.path = `${svc.fullName}/${m.name}`;
  registry.services.set(svc.fullName, svc);
}

function parseFile(buf, start, end, registry) {
  let pkg = '';
  let name = '';
  const parts = [];
  eachField(buf, start, end, (n, wt, r, p, e) => {
    if (wt !== 2) return;
    if (n === 1) name = str(r, p, e);
    else if (n === 2) pkg = str(r, p, e);
    else if (n === 4 || n === 5 || n === 6) parts.push([n, p, e]);
  });
  // The package comes before the types in protoc's output, but nothing requires it, so the
  // types are read once the whole file (and so its package) is known.
  for (const [n, p, e] of parts) {
    if (n === 4) parseMessage(buf, p, e, pkg, registry);
    else if (n === 5) parseEnum(buf, p, e, pkg, registry);
    else parseService(buf, p, e, pkg, registry);
  }
  registry.files.push(name);
}

export class Registry {
  constructor() {
    this.messages = new Map();
    this.enums = new Map();
    this.services = new Map();
    this.files = [];
  }

  message(fullName) {
    const m = this.messages.get(fullName);
    if (!m) throw new Error(`unknown message type ${fullName}`);
    return m;
  }

  // "tickmesh.stream.v1.TickStreamService/StreamTicks" -> its method descriptor.
  method(path) {
    const slash = path.lastIndexOf('/');
    const svc = this.services.get(path.slice(0, slash));
    const m = svc && svc.methods.get(path.slice(slash + 1));
    if (!m) throw new Error(`unknown method ${path}`);
    return m;
  }

  // Links each field to its message or enum type and indexes fields by number.
  link() {
    for (const msg of this.messages.values()) {
      for (const f of msg.fields) {
        if (f.type === T.MESSAGE || f.type === T.GROUP) f.resolved = this.message(f.typeName);
        else if (f.type === T.ENUM) {
          f.resolved = this.enums.get(f.typeName);
          if (!f.resolved) throw new Error(`unknown enum type ${f.typeName}`);
        }
        // Synthetic oneofs (proto3 `optional`) are named "_field"; only real ones get a case.
        const oneof = f.oneofIndex >= 0 ? msg.oneofs[f.oneofIndex] : '';
        f.oneof = oneof && !oneof.startsWith('_') ? lowerCamel(oneof) : '';
        f.inOneof = f.oneofIndex >= 0;
        msg.byNumber[f.number] = f;
      }
    }
    return this;
  }
}

export function parseDescriptorSet(bytes) {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const registry = new Registry();
  eachField(buf, 0, buf.length, (n, wt, r, p, e) => {
    if (n === 1 && wt === 2) parseFile(buf, p, e, registry);
  });
  return registry.link();
}
