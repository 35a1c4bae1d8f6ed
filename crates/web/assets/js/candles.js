// Candle intervals and the live candle series: stored candles from ListCandles, then every
// trade on the stream folded into the candle of its bucket. DOM-free.
//
// Buckets start at UTC epoch multiples of the interval (as the server's do: hours on the
// hour, days at 00:00 UTC). Prices stay decimal strings; comparisons are exact.

import { parse, cmp, add, toString } from './decimal.js';
import { tsToMs } from './codec.js';

export const INTERVALS = Object.freeze([
  { key: '1m', name: 'CANDLE_INTERVAL_1M', ms: 60_000 },
  { key: '5m', name: 'CANDLE_INTERVAL_5M', ms: 300_000 },
  { key: '15m', name: 'CANDLE_INTERVAL_15M', ms: 900_000 },
  { key: '1h', name: 'CANDLE_INTERVAL_1H', ms: 3_600_000 },
  { key: '1d', name: 'CANDLE_INTERVAL_1D', ms: 86_400_000 },
]);

export function intervalByKey(key) {
  return INTERVALS.find((i) => i.key === key) || INTERVALS[0];
}

// How many intervals the market view shows, and so the start of its history window.
export const WINDOW_CANDLES = 120;

export function bucketStart(ms, width) {
  return Math.floor(ms / width) * width;
}

// A stored candle -> the series' shape. first/last are the times of the earliest and latest
// trade folded in; a stored candle only tells its bucket, so both start at the bucket start
// and any later trade becomes its close.
export function fromProto(c) {
  const time = tsToMs(c.openTime);
  return {
    time,
    open: c.open, high: c.high, low: c.low, close: c.close,
    volume: c.volume || '0',
    trades: Number(c.tradeCount || 0n),
    first: time,
    last: time,
  };
}

export class CandleSeries {
  constructor(intervalMs, candles = [], max = 400) {
    this.width = intervalMs;
    this.max = max;
    this.candles = candles.slice().sort((a, b) => a.time - b.time);
  }

  get current() {
    return this.candles.length ? this.candles[this.candles.length - 1] : null;
  }

  // Folds one trade in. Returns false when it lies before the oldest candle held (nothing
  // to update there). A trade past the current candle's end starts a new candle.
  applyTrade(price, size, timeMs) {
    const p = parse(price);
    if (!p || !Number.isFinite(timeMs)) return false;
    const time = bucketStart(timeMs, this.width);
    const list = this.candles;
    let i = list.length - 1;
    while (i >= 0 && list[i].time > time) i--;
    if (i >= 0 && list[i].time === time) {
      fold(list[i], price, p, size, timeMs);
      return true;
    }
    if (i < 0 && list.length > 0) return false;
    const candle = {
      time, open: price, high: price, low: price, close: price,
      volume: size || '0', trades: 1, first: timeMs, last: timeMs,
    };
    list.splice(i + 1, 0, candle);
    if (list.length > this.max) list.splice(0, list.length - this.max);
    return true;
  }
}

function fold(c, price, p, size, timeMs) {
  if (cmp(p, parse(c.high)) > 0) c.high = price;
  if (cmp(p, parse(c.low)) < 0) c.low = price;
  // Trades may arrive out of order: the latest by exchange time is the close.
  if (timeMs >= c.last) {
    c.close = price;
    c.last = timeMs;
  }
  if (timeMs < c.first) {
    c.open = price;
    c.first = timeMs;
  }
  const v = parse(size);
  if (v) c.volume = toString(add(parse(c.volume) || { n: 0n, s: 0 }, v));
  c.trades += 1;
}
