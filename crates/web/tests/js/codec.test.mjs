// The descriptor-driven protobuf codec against tickmesh's stream messages.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseDescriptorSet } from '../../assets/js/descriptor.js';
import { decode, encode, tsFromMs, tsToMs } from '../../assets/js/codec.js';
import { Reader, Writer } from '../../assets/js/wire.js';
import { descriptorBytes } from './descriptors.mjs';

const { bytes, real } = descriptorBytes();
const registry = parseDescriptorSet(bytes);
const REQ = 'tickmesh.stream.v1.StreamTicksRequest';
const RESP = 'tickmesh.stream.v1.StreamTicksResponse';

test(`descriptor set (${real ? 'from TICKMESH_DESCRIPTORS' : 'hand-built'}) has the stream service`, () => {
  const m = registry.method('tickmesh.stream.v1.TickStreamService/StreamTicks');
  assert.equal(m.inputType, REQ);
  assert.equal(m.outputType, RESP);
  assert.equal(m.serverStreaming, true);
  const ev = registry.message('tickmesh.market.v1.MarketEvent');
  assert.deepEqual(ev.byNumber[7] && ev.byNumber[7].jsonName, 'orderBook');
  assert.equal(registry.enums.get('tickmesh.market.v1.Exchange').byNumber.get(3), 'EXCHANGE_KORBIT');
  if (real) {
    assert.ok(registry.services.has('tickmesh.history.v1.HistoryService'));
    assert.ok(registry.messages.has('tickmesh.subscription.v1.WatchSubscriptionsResponse.Snapshot'));
  }
});

test('StreamTicksRequest round-trips, enums by name or number, packed on the wire', () => {
  const req = {
    exchanges: ['EXCHANGE_UPBIT', 3],
    markets: ['BTC', 'KRW-ETH'],
    kinds: ['EVENT_KIND_TICKER', 'EVENT_KIND_TRADE'],
    resumeAfter: '1717000000000-5',
    startTime: tsFromMs(1717000000123),
  };
  const wire = encode(registry, REQ, req);
  // Field 1 (exchanges) is packed: tag 0x0a, length 2, values 1 and 3.
  assert.deepEqual([...wire.subarray(0, 4)], [0x0a, 2, 1, 3]);
  const back = decode(registry, REQ, wire);
  assert.deepEqual(back.exchanges, ['EXCHANGE_UPBIT', 'EXCHANGE_KORBIT']);
  assert.deepEqual(back.markets, ['BTC', 'KRW-ETH']);
  assert.deepEqual(back.kinds, ['EVENT_KIND_TICKER', 'EVENT_KIND_TRADE']);
  assert.equal(back.resumeAfter, '1717000000000-5');
  assert.equal(back.startTime.seconds, 1717000000n);
  assert.equal(back.startTime.nanos, 123_000_000);
  assert.equal(tsToMs(back.startTime), 1717000000123);
});

test('defaults: an empty request encodes to nothing and decodes to defaults', () => {
  assert.equal(encode(registry, REQ, {}).length, 0);
  const empty = decode(registry, REQ, new Uint8Array(0));
  assert.deepEqual(empty.exchanges, []);
  assert.equal(empty.resumeAfter, '');
  assert.equal(empty.startTime, undefined);
});

// A StreamTicksResponse written tag by tag, independent of the encoder.
function handEncodedTradeResponse(tradeId) {
  const w = (build) => { const x = new Writer(); build(x); return x.finish(); };
  const market = w((x) => { x.tag(1, 2); x.string('BTC'); x.tag(2, 2); x.string('KRW'); });
  const time = w((x) => { x.tag(1, 0); x.uint(1717000000); x.tag(2, 0); x.uint(250_000_000); });
  const trade = w((x) => {
    x.tag(1, 0); x.u64(tradeId);
    x.tag(2, 2); x.string('95000000.5');
    x.tag(3, 2); x.string('0.00012345');
    x.tag(4, 0); x.uint(2);
  });
  const event = w((x) => {
    x.tag(1, 0); x.uint(2);
    x.tag(2, 2); x.bytes(market);
    x.tag(3, 2); x.bytes(time);
    x.tag(6, 2); x.bytes(trade);
    x.tag(99, 2); x.string('an unknown field is skipped');
  });
  return w((x) => {
    x.tag(1, 2); x.bytes(event);
    x.tag(4, 2); x.string('1717000000250-0');
    x.tag(5, 0); x.uint(1);
  });
}

test('decodes a trade event with a uint64 id above 2^53 exactly', () => {
  const id = 2n ** 53n + 12345n; // 9007199254753337: a float would round it
  const msg = decode(registry, RESP, handEncodedTradeResponse(id));
  assert.equal(msg.item, 'event');
  assert.equal(msg.cursor, '1717000000250-0');
  assert.equal(msg.replayed, true);
  const ev = msg.event;
  assert.equal(ev.exchange, 'EXCHANGE_BITHUMB');
  assert.deepEqual([ev.market.base, ev.market.quote], ['BTC', 'KRW']);
  assert.equal(ev.payload, 'trade');
  assert.equal(ev.ticker, undefined);
  assert.equal(ev.trade.tradeId, id);
  assert.equal(ev.trade.tradeId.toString(), '9007199254753337');
  assert.equal(ev.trade.price, '95000000.5');
  assert.equal(ev.trade.size, '0.00012345');
  assert.equal(ev.trade.side, 'SIDE_SELL');
  assert.equal(tsToMs(ev.exchangeTime), 1717000000250);
  // And the maximum uint64 survives an encode/decode round trip.
  const max = 2n ** 64n - 1n;
  const again = decode(registry, RESP, encode(registry, RESP, { event: { trade: { tradeId: max } } }));
  assert.equal(again.event.trade.tradeId, max);
});

test('repeated messages and unpacked repeated enums decode', () => {
  const book = encode(registry, 'tickmesh.market.v1.OrderBook', {
    bids: [{ price: '100', size: '1' }, { price: '99', size: '2.5' }], asks: [{ price: '101', size: '3' }],
  });
  const back = decode(registry, 'tickmesh.market.v1.OrderBook', book);
  assert.deepEqual(back.bids.map((l) => l.price), ['100', '99']);
  assert.equal(back.asks[0].size, '3');
  // Unpacked: two separate field-3 varints.
  const x = new Writer();
  x.tag(3, 0); x.uint(2);
  x.tag(3, 0); x.uint(1);
  assert.deepEqual(decode(registry, REQ, x.finish()).kinds, ['EVENT_KIND_TRADE', 'EVENT_KIND_TICKER']);
});

test('wire: varints, zigzag and fixed widths', () => {
  const w = new Writer();
  w.u64(-1n); w.uint(300); w.fixed64(2n ** 63n + 7n); w.double(-2.5); w.fixed32(0xdeadbeef);
  w.uint((-3 << 1) ^ (-3 >> 31)); // sint32 -3
  const r = new Reader(w.finish());
  assert.equal(r.int64(), -1n);
  assert.equal(r.uint32(), 300);
  assert.equal(r.fixed64(), 2n ** 63n + 7n);
  assert.equal(r.double(), -2.5);
  assert.equal(r.fixed32(), 0xdeadbeef);
  assert.equal(r.sint32(), -3);
  assert.ok(r.eof());
  assert.throws(() => new Reader(new Uint8Array([0x80])).uint32(), /truncated/);
});

test('timestamp helpers convert to and from milliseconds', () => {
  assert.deepEqual(tsFromMs(1500), { seconds: 1n, nanos: 500_000_000 });
  assert.deepEqual(tsFromMs(-1), { seconds: -1n, nanos: 999_000_000 });
  assert.equal(tsToMs({ seconds: 1717000000n, nanos: 1_000_000 }), 1717000000001);
});
