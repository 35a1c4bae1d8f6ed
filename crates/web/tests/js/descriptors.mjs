// Test helper: the descriptor set the codec tests run against. The real one (written by the
// Rust side, path in TICKMESH_DESCRIPTORS) when given; otherwise a hand-encoded subset of
// market.proto, stream.proto and timestamp.proto, written field by field with the wire
// Writer so it does not depend on the codec under test.

import { readFileSync } from 'node:fs';
import { Writer } from '../../assets/js/wire.js';

const LEN = 2;
const VARINT = 0;

function message(build) {
  const w = new Writer();
  build(w);
  return w.finish();
}

function str(w, n, s) {
  w.tag(n, LEN);
  w.string(s);
}

function sub(w, n, bytes) {
  w.tag(n, LEN);
  w.bytes(bytes);
}

function num(w, n, v) {
  w.tag(n, VARINT);
  w.uint(v);
}

// TYPE_* numbers of FieldDescriptorProto.
const TYPES = { double: 1, int64: 3, uint64: 4, int32: 5, bool: 8, string: 9, message: 11, uint32: 13, enum: 14 };

// [name, number, type, {repeated, typeName, oneof}]
function field([name, number, type, opt = {}]) {
  return message((w) => {
    str(w, 1, name);
    num(w, 3, number);
    num(w, 4, opt.repeated ? 3 : 1);
    num(w, 5, TYPES[type]);
    if (opt.typeName) str(w, 6, opt.typeName);
    if (opt.oneof !== undefined) num(w, 9, opt.oneof);
  });
}

function descriptorProto({ name, fields, oneofs = [] }) {
  return message((w) => {
    str(w, 1, name);
    for (const f of fields) sub(w, 2, field(f));
    for (const o of oneofs) sub(w, 8, message((ow) => str(ow, 1, o)));
  });
}

function enumProto(name, values) {
  return message((w) => {
    str(w, 1, name);
    for (const [vname, vnum] of values) {
      sub(w, 2, message((vw) => {
        str(vw, 1, vname);
        num(vw, 2, vnum);
      }));
    }
  });
}

function file({ name, pkg, messages = [], enums = [], services = [] }) {
  return message((w) => {
    str(w, 1, name);
    str(w, 2, pkg);
    for (const m of messages) sub(w, 4, descriptorProto(m));
    for (const [ename, values] of enums) sub(w, 5, enumProto(ename, values));
    for (const s of services) {
      sub(w, 6, message((sw) => {
        str(sw, 1, s.name);
        for (const m of s.methods) {
          sub(sw, 2, message((mw) => {
            str(mw, 1, m.name);
            str(mw, 2, m.input);
            str(mw, 3, m.output);
            if (m.serverStreaming) num(mw, 6, 1);
          }));
        }
      }));
    }
  });
}

const M = '.tickmesh.market.v1.';
const TS = '.google.protobuf.Timestamp';

export function handBuiltDescriptorSet() {
  const timestamp = file({
    name: 'google/protobuf/timestamp.proto', pkg: 'google.protobuf',
    messages: [{ name: 'Timestamp', fields: [['seconds', 1, 'int64'], ['nanos', 2, 'int32']] }],
  });
  const market = file({
    name: 'tickmesh/market/v1/market.proto', pkg: 'tickmesh.market.v1',
    enums: [
      ['Exchange', [['EXCHANGE_UNSPECIFIED', 0], ['EXCHANGE_UPBIT', 1], ['EXCHANGE_BITHUMB', 2], ['EXCHANGE_KORBIT', 3]]],
      ['EventKind', [['EVENT_KIND_UNSPECIFIED', 0], ['EVENT_KIND_TICKER', 1], ['EVENT_KIND_TRADE', 2], ['EVENT_KIND_ORDER_BOOK', 3]]],
      ['Side', [['SIDE_UNSPECIFIED', 0], ['SIDE_BUY', 1], ['SIDE_SELL', 2]]],
    ],
    messages: [
      { name: 'Market', fields: [['base', 1, 'string'], ['quote', 2, 'string']] },
      { name: 'Ticker', fields: [['last', 1, 'string'], ['open', 2, 'string'], ['prev_close', 5, 'string']] },
      {
        name: 'Trade',
        fields: [['trade_id', 1, 'uint64'], ['price', 2, 'string'], ['size', 3, 'string'],
          ['side', 4, 'enum', { typeName: `${M}Side` }]],
      },
      { name: 'Level', fields: [['price', 1, 'string'], ['size', 2, 'string']] },
      {
        name: 'OrderBook',
        fields: [['bids', 1, 'message', { repeated: true, typeName: `${M}Level` }],
          ['asks', 2, 'message', { repeated: true, typeName: `${M}Level` }]],
      },
      {
        name: 'MarketEvent',
        oneofs: ['payload'],
        fields: [
          ['exchange', 1, 'enum', { typeName: `${M}Exchange` }],
          ['market', 2, 'message', { typeName: `${M}Market` }],
          ['exchange_time', 3, 'message', { typeName: TS }],
          ['received_time', 4, 'message', { typeName: TS }],
          ['ticker', 5, 'message', { typeName: `${M}Ticker`, oneof: 0 }],
          ['trade', 6, 'message', { typeName: `${M}Trade`, oneof: 0 }],
          ['order_book', 7, 'message', { typeName: `${M}OrderBook`, oneof: 0 }],
          ['raw', 8, 'string'],
        ],
      },
    ],
  });
  const S = '.tickmesh.stream.v1.';
  const stream = file({
    name: 'tickmesh/stream/v1/stream.proto', pkg: 'tickmesh.stream.v1',
    messages: [
      {
        name: 'StreamTicksRequest',
        fields: [
          ['exchanges', 1, 'enum', { repeated: true, typeName: `${M}Exchange` }],
          ['markets', 2, 'string', { repeated: true }],
          ['kinds', 3, 'enum', { repeated: true, typeName: `${M}EventKind` }],
          ['resume_after', 4, 'string'],
          ['start_time', 5, 'message', { typeName: TS }],
        ],
      },
      {
        name: 'StreamTicksResponse',
        oneofs: ['item'],
        fields: [
          ['event', 1, 'message', { typeName: `${M}MarketEvent`, oneof: 0 }],
          ['lagged', 2, 'message', { typeName: `${S}Lagged`, oneof: 0 }],
          ['cursor', 4, 'string'],
          ['replayed', 5, 'bool'],
        ],
      },
      { name: 'Lagged', fields: [['missed', 1, 'uint64'], ['after_cursor', 2, 'string']] },
    ],
    services: [{
      name: 'TickStreamService',
      methods: [{
        name: 'StreamTicks', input: `${S}StreamTicksRequest`, output: `${S}StreamTicksResponse`, serverStreaming: true,
      }],
    }],
  });
  const set = new Writer();
  for (const f of [timestamp, market, stream]) sub(set, 1, f);
  return set.finish();
}

// The real set when the Rust side provides one, else the hand-built subset.
export function descriptorBytes() {
  const path = process.env.TICKMESH_DESCRIPTORS;
  if (path) return { bytes: new Uint8Array(readFileSync(path)), real: true };
  return { bytes: handBuiltDescriptorSet(), real: false };
}
