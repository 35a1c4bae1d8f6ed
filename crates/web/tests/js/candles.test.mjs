// Candle aggregation from trades and the board model's spread and change.
import test from 'node:test';
import assert from 'node:assert/strict';
import { CandleSeries, bucketStart, fromProto, intervalByKey } from '../../assets/js/candles.js';
import { BoardModel, rowView } from '../../assets/js/model.js';
import { tsFromMs } from '../../assets/js/codec.js';

const MIN = 60_000;
const T0 = 1_717_000_040_000; // 20 s into a minute

test('buckets start at UTC multiples of the interval', () => {
  assert.equal(bucketStart(T0, MIN), 1_717_000_020_000);
  assert.equal(bucketStart(Date.UTC(2024, 4, 1, 13, 5), intervalByKey('1d').ms), Date.UTC(2024, 4, 1));
  assert.equal(intervalByKey('15m').name, 'CANDLE_INTERVAL_15M');
});

test('trades update the current candle and start a new one past its end', () => {
  const start = bucketStart(T0, MIN);
  const stored = fromProto({ openTime: tsFromMs(start), open: '100', high: '105', low: '99', close: '101', volume: '2', tradeCount: 4n });
  const s = new CandleSeries(MIN, [stored]);
  assert.ok(s.applyTrade('106.5', '0.5', T0 + 1000));
  assert.ok(s.applyTrade('98', '1', T0 + 2000));
  assert.ok(s.applyTrade('100.25', '1', T0 + 1500)); // late arrival: not the close
  let c = s.current;
  assert.deepEqual([c.open, c.high, c.low, c.close, c.volume, c.trades], ['100', '106.5', '98', '98', '4.5', 7]);
  // Past the end of the minute: a new candle opens at the trade.
  assert.ok(s.applyTrade('97', '0.1', start + MIN + 5));
  assert.equal(s.candles.length, 2);
  c = s.current;
  assert.deepEqual([c.time, c.open, c.high, c.low, c.close, c.trades], [start + MIN, '97', '97', '97', '97', 1]);
  // Before everything held: ignored.
  assert.equal(s.applyTrade('1', '1', start - 10 * MIN), false);
  // Comparison is exact, not by string or float: '9' < '10'.
  const t = new CandleSeries(MIN);
  t.applyTrade('9', '1', T0);
  t.applyTrade('10', '1', T0 + 1);
  assert.equal(t.current.high, '10');
  assert.equal(t.current.low, '9');
});

const ev = (exchange, base, ms, payload) => ({ exchange, market: { base, quote: 'KRW' }, exchangeTime: tsFromMs(ms), ...payload });

test('board model: last price, change, spread with high/low marks', () => {
  const m = new BoardModel();
  m.applyLatest({ tickers: [
    { exchange: 'EXCHANGE_UPBIT', market: { base: 'BTC' }, exchangeTime: tsFromMs(T0), ticker: { last: '95000000', prevClose: '94000000', open: '93000000' } },
    { exchange: 'EXCHANGE_BITHUMB', market: { base: 'BTC' }, exchangeTime: tsFromMs(T0), ticker: { last: '95100000.5', prevClose: '', open: '96000000' } },
  ] });
  let v = rowView(m.rows.get('BTC'));
  assert.equal(v.cells.upbit.change, '1000000');
  assert.equal(v.cells.upbit.changePercent, '1.06');
  assert.equal(v.cells.upbit.dir, 1);
  assert.equal(v.cells.bithumb.change, '-899999.5'); // prev_close empty: against open
  assert.equal(v.cells.bithumb.dir, -1);
  assert.equal(v.spread, '100000.5');
  assert.equal(v.spreadPercent, '0.11');
  assert.deepEqual([v.high, v.low], [['bithumb'], ['upbit']]);
  assert.equal(v.cells.korbit.price, '');

  m.takeDirty();
  m.applyEvent(ev('EXCHANGE_KORBIT', 'BTC', T0 + 5, { trade: { price: '94000000', tradeId: 1n } }));
  m.applyEvent(ev('EXCHANGE_UPBIT', 'BTC', T0 - 5, { trade: { price: '1', tradeId: 2n } })); // older: ignored
  assert.equal(m.takeDirty().size, 1);
  v = rowView(m.rows.get('BTC'));
  assert.equal(v.cells.upbit.price, '95000000');
  assert.deepEqual([v.high, v.low, v.spread, v.spreadPercent], [['bithumb'], ['korbit'], '1100000.5', '1.17']);
  assert.equal(v.cells.korbit.change, '');

  assert.equal(m.applyEvent(ev('EXCHANGE_UNSPECIFIED', 'BTC', T0 + 9, { trade: { price: '1' } })), false);
  m.applyEvent(ev('EXCHANGE_UPBIT', 'eth', T0, { ticker: { last: '5000000', prevClose: '5000000' } }));
  assert.deepEqual(m.markets(), ['BTC', 'ETH']);
  v = rowView(m.rows.get('ETH'));
  assert.deepEqual([v.spread, v.high, v.cells.upbit.dir, v.cells.upbit.changePercent], ['', [], 0, '0.00']);
  // Ties: every exchange at the highest (lowest) price is marked; all equal marks none.
  m.applyEvent(ev('EXCHANGE_BITHUMB', 'ETH', T0, { trade: { price: '5000000.00' } }));
  m.applyEvent(ev('EXCHANGE_KORBIT', 'ETH', T0, { trade: { price: '4999000' } }));
  v = rowView(m.rows.get('ETH'));
  assert.deepEqual([v.high, v.low, v.spread], [['upbit', 'bithumb'], ['korbit'], '1000']);
  m.applyEvent(ev('EXCHANGE_KORBIT', 'ETH', T0 + 1, { trade: { price: '5000000' } }));
  v = rowView(m.rows.get('ETH'));
  assert.deepEqual([v.high, v.low, v.spread], [[], [], '0']);
});

test('recent trades: newest first across exchanges, no duplicates, at most 50', async () => {
  const { TradesPanel, MAX_TRADES } = await import('../../assets/js/panels.js');
  const p = new TradesPanel(null);
  // A ListTrades fill (oldest first) overlapping the live stream.
  for (let i = 0; i < 60; i++) p.add({ exchange: 'upbit', id: String(1000 + i), price: '1', size: '1', side: 'SIDE_BUY', time: T0 + i });
  p.add({ exchange: 'upbit', id: '1059', price: '1', size: '1', side: 'SIDE_BUY', time: T0 + 59 }); // again from the stream
  p.add({ exchange: 'korbit', id: '1059', price: '2', size: '1', side: 'SIDE_SELL', time: T0 + 59 }); // same id, other exchange
  p.add({ exchange: 'bithumb', id: '18446744073709551615', price: '3', size: '1', side: 'SIDE_SELL', time: T0 + 100 });
  p.flush();
  assert.equal(p.list.length, MAX_TRADES);
  assert.deepEqual(p.list.slice(0, 4).map((x) => `${x.exchange}:${x.id}`),
    ['bithumb:18446744073709551615', 'korbit:1059', 'upbit:1059', 'upbit:1058']);
  assert.equal(new Set(p.list.map((x) => `${x.exchange}:${x.id}`)).size, MAX_TRADES);
});
