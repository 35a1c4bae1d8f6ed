// The live board's in-memory model. Stream events only assign a few strings here and mark
// the row dirty; the decimal arithmetic runs in rowView(), once per dirty row per frame, so
// the cost per event stays a handful of property writes however fast events come. DOM-free.

import { parse, sub, cmp, percent, toString } from './decimal.js';
import { tsToMicros } from './codec.js';
import { EXCHANGES, exchangeKey } from './format.js';

function newCell() {
  // time: exchange time (µs) of what `last` came from; tickerTime: of prevClose/open.
  return { last: '', time: -1, prevClose: '', open: '', tickerTime: -1 };
}

export class BoardModel {
  constructor() {
    this.rows = new Map();
    this.dirty = new Set();
    // Set when a market is added, so the view re-sorts its rows (rare, unlike value updates).
    this.structureChanged = false;
  }

  // Base asset codes, upper case, sorted.
  markets() {
    return [...this.rows.keys()].sort();
  }

  ensure(base) {
    // The stream sends canonical upper-case codes: the direct lookup is the per-event path.
    const hit = this.rows.get(base);
    if (hit) return hit;
    const market = String(base || '').toUpperCase();
    if (!market) return null;
    let row = this.rows.get(market);
    if (!row) {
      row = { market, cells: { upbit: newCell(), bithumb: newCell(), korbit: newCell() } };
      this.rows.set(market, row);
      this.structureChanged = true;
      this.dirty.add(row);
    }
    return row;
  }

  // One StreamTicksResponse.event (a MarketEvent). Returns true when the board changed.
  applyEvent(ev) {
    const cell = this.cellOf(ev.exchange, ev.market);
    if (!cell) return false;
    const time = tsToMicros(ev.exchangeTime);
    if (ev.ticker) return this.applyTicker(cell.row, cell.cell, ev.ticker, time);
    if (ev.trade) {
      // An older trade (a replay overlapping what the board already shows) must not move
      // the last price back; equal times take the later arrival.
      if (time < cell.cell.time || !ev.trade.price) return false;
      cell.cell.last = ev.trade.price;
      cell.cell.time = time;
      this.dirty.add(cell.row);
      return true;
    }
    return false;
  }

  // One GetLatestTickersResponse: the initial fill and the refill after a reconnect.
  applyLatest(reply) {
    let changed = false;
    for (const lt of reply.tickers || []) {
      const cell = this.cellOf(lt.exchange, lt.market);
      if (cell && lt.ticker) {
        changed = this.applyTicker(cell.row, cell.cell, lt.ticker, tsToMicros(lt.exchangeTime)) || changed;
      }
    }
    return changed;
  }

  cellOf(exchange, market) {
    const ex = exchangeKey(exchange);
    // Unknown exchanges (a newer server) have no column: skip them.
    if (!ex || !market || !market.base) return null;
    const row = this.ensure(market.base);
    return { row, cell: row.cells[ex] };
  }

  applyTicker(row, cell, ticker, time) {
    if (time < cell.tickerTime) return false;
    cell.tickerTime = time;
    cell.prevClose = ticker.prevClose || '';
    cell.open = ticker.open || '';
    if (ticker.last && time >= cell.time) {
      cell.last = ticker.last;
      cell.time = time;
    }
    this.dirty.add(row);
    return true;
  }

  // Hands the dirty rows over and starts a new set.
  takeDirty() {
    const d = this.dirty;
    this.dirty = new Set();
    return d;
  }
}

// What the board shows for one row, every value an exact decimal string ('' when unknown).
// high / low list the exchanges whose last price is the highest / lowest of the row (all of
// them when several share it); both stay empty with fewer than two prices or when all agree.
export function rowView(row) {
  const out = { cells: {}, spread: '', spreadPercent: '', high: [], low: [] };
  const lasts = {};
  let hi = null;
  let lo = null;
  let known = 0;
  for (const ex of EXCHANGES) {
    const c = row.cells[ex];
    const last = parse(c.last);
    const cellView = { price: c.last, change: '', changePercent: '', dir: 0 };
    out.cells[ex] = cellView;
    if (!last) continue;
    lasts[ex] = last;
    known++;
    // 24 h change against the previous close, or the open when the exchange sends none.
    const base = parse(c.prevClose) || parse(c.open);
    if (base) {
      const change = sub(last, base);
      cellView.change = toString(change);
      const pct = percent(change, base, 2);
      cellView.changePercent = pct ? toString(pct) : '';
      cellView.dir = change.n > 0n ? 1 : change.n < 0n ? -1 : 0;
    }
    if (!hi || cmp(last, hi) > 0) hi = last;
    if (!lo || cmp(last, lo) < 0) lo = last;
  }
  if (known >= 2) {
    const spread = sub(hi, lo);
    out.spread = toString(spread);
    const pct = percent(spread, lo, 2);
    out.spreadPercent = pct ? toString(pct) : '';
    if (spread.n !== 0n) {
      for (const [ex, last] of Object.entries(lasts)) {
        if (cmp(last, hi) === 0) out.high.push(ex);
        if (cmp(last, lo) === 0) out.low.push(ex);
      }
    }
  }
  return out;
}
