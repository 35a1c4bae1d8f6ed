// The market view's recent-trades list (and its fill from ListTrades) and order book. Both take data at any rate and
// write the DOM only in render() (one rAF per frame), reusing their row elements.

import { el, text, setText, setClass, setData, setHidden } from './dom.js';
import { formatKRW, formatNumber, formatTime, exchangeEnum } from './format.js';
import { M } from './api.js';
import { tsFromMs, tsToMs } from './codec.js';
import { parse, sub, cmp, toString } from './decimal.js';
import { t } from './i18n.js';

export const MAX_TRADES = 50;

export class TradesPanel {
  constructor(tbody) {
    this.tbody = tbody;
    this.list = [];
    this.pending = [];
    this.byKey = new Map();
    this.seq = 0;
  }

  reset() {
    this.changed = false;
    this.list = [];
    this.pending = [];
    for (const r of this.byKey.values()) r.tr.remove();
    this.byKey = new Map();
  }

  // trade: {exchange: 'upbit', id: '123', price, size, side: 'SIDE_BUY', time: ms}
  add(trade) {
    trade.seq = this.seq++;
    this.pending.push(trade);
    // Only the newest MAX_TRADES can end up shown: fold early so a burst (or a history
    // fill) between two frames holds little memory.
    if (this.pending.length > 4 * MAX_TRADES) this.flush();
  }

  // Newest first by exchange time (then arrival), without duplicates: the stream and the
  // ListTrades fill may both deliver a trade.
  flush() {
    if (!this.pending.length) return false;
    const all = this.list.concat(this.pending);
    this.pending = [];
    all.sort((a, b) => b.time - a.time || b.seq - a.seq);
    const seen = new Set();
    const out = [];
    for (const tr of all) {
      const key = `${tr.exchange}:${tr.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(tr);
      if (out.length === MAX_TRADES) break;
    }
    this.list = out;
    this.changed = true;
    return true;
  }

  createRow() {
    const r = { time: text(), ex: text(), price: text(), size: text(), side: text() };
    r.tr = el('tr', {},
      el('td', { class: 'time' }, r.time), el('td', { class: 'ex' }, r.ex),
      el('td', { class: 'num price' }, r.price), el('td', { class: 'num size' }, r.size),
      el('td', { class: 'side' }, r.side));
    return r;
  }

  fillRow(r, d) {
    setData(r.tr, 'exchange', d.exchange);
    setData(r.tr, 'tradeId', d.id);
    setClass(r.tr, d.side === 'SIDE_BUY' ? 'buy' : d.side === 'SIDE_SELL' ? 'sell' : '');
    setText(r.time, formatTime(d.time));
    setText(r.ex, t(`ex.${d.exchange}`));
    setText(r.price, formatKRW(d.price));
    setText(r.size, formatNumber(d.size));
    setText(r.side, t(`side.${d.side}`));
  }

  // Rows are keyed by trade: a trade still shown keeps its row untouched, the rows of trades
  // that dropped off the end are reused for the new ones and moved to the top. So a new
  // trade is a row inserted into #trades (as a MutationObserver sees it), the table never
  // holds more than MAX_TRADES rows, and no row is created once it is full.
  render(force = false) {
    this.flush();
    if (!this.changed && !force) return;
    this.changed = false;
    const wanted = new Set();
    for (const d of this.list) wanted.add(`${d.exchange}:${d.id}`);
    const free = [];
    for (const [k, r] of this.byKey) if (!wanted.has(k)) free.push(r);
    const next = new Map();
    let prev = null;
    for (const d of this.list) {
      const k = `${d.exchange}:${d.id}`;
      let r = this.byKey.get(k);
      if (!r) {
        r = free.pop() || this.createRow();
        this.fillRow(r, d);
      } else if (force) {
        this.fillRow(r, d);
      }
      next.set(k, r);
      const at = prev ? prev.nextSibling : this.tbody.firstChild;
      if (at !== r.tr) this.tbody.insertBefore(r.tr, at);
      prev = r.tr;
    }
    for (const r of free) r.tr.remove();
    this.byKey = next;
  }
}

const DEPTH = 10;

export class BookPanel {
  constructor(container) {
    this.asksBox = el('div', { class: 'asks' });
    this.bidsBox = el('div', { class: 'bids' });
    this.midText = text();
    this.mid = el('div', { class: 'mid' }, this.midText);
    this.noteText = text(t('book.empty'));
    this.note = el('p', { class: 'note' }, this.noteText);
    container.append(this.note, this.asksBox, this.mid, this.bidsBox);
    this.asks = [];
    this.bids = [];
    this.book = null;
  }

  set(book) {
    this.book = book;
  }

  rows(list, box, cls, n) {
    while (list.length < n) {
      const r = { price: text(), size: text() };
      r.bar = el('span', { class: 'bar' });
      r.div = el('div', { class: cls }, r.bar, el('span', { class: 'price' }, r.price), el('span', { class: 'size' }, r.size));
      list.push(r);
    }
    while (list.length > n) list.pop().div.remove();
    // Asks are shown highest first, so the best ask sits next to the best bid.
    for (const r of list) box.append(r.div);
  }

  fill(rows, levels, max) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      setText(r.price, formatKRW(levels[i].price));
      setText(r.size, formatNumber(levels[i].size));
      // Bar length is a pixel ratio: a float is fine here.
      const scale = `scaleX(${max > 0 ? Math.min(1, Number(levels[i].size) / max).toFixed(3) : 0})`;
      if (r.scale !== scale) {
        r.scale = scale;
        r.bar.style.transform = scale;
      }
    }
  }

  render() {
    const book = this.book;
    // Books come at their own pace: a frame without a new one has nothing to redraw.
    if (book && book === this.shown) return;
    this.shown = book;
    setHidden(this.note, !!book);
    setText(this.noteText, t('book.empty'));
    if (!book) {
      this.rows(this.asks, this.asksBox, 'ask', 0);
      this.rows(this.bids, this.bidsBox, 'bid', 0);
      setText(this.midText, '');
      return;
    }
    const asks = book.asks.slice(0, DEPTH).reverse();
    const bids = book.bids.slice(0, DEPTH);
    if (asks.length !== this.asks.length) this.rows(this.asks, this.asksBox, 'ask', asks.length);
    if (bids.length !== this.bids.length) this.rows(this.bids, this.bidsBox, 'bid', bids.length);
    let max = 0;
    for (const l of asks) max = Math.max(max, Number(l.size) || 0);
    for (const l of bids) max = Math.max(max, Number(l.size) || 0);
    this.fill(this.asks, asks, max);
    this.fill(this.bids, bids, max);
    const bestAsk = parse(book.asks[0] && book.asks[0].price);
    const bestBid = parse(book.bids[0] && book.bids[0].price);
    setText(this.midText, bestAsk && bestBid && cmp(bestAsk, bestBid) >= 0
      ? `${t('col.spread')} ${formatKRW(toString(sub(bestAsk, bestBid)))}` : '');
  }
}

// The newest trades of one exchange in the last five minutes (ListTrades, at most 5 pages of
// a window). Pages run oldest first, so when five pages do not reach the end of the window,
// the window is narrowed (10 s, then 1 s) to reach the newest trades instead of the oldest.
export async function recentTrades(api, market, exchange, signal) {
  const now = Date.now();
  for (const span of [300_000, 10_000, 1_000]) {
    let pageToken = '';
    let kept = [];
    for (let page = 0; page < 5; page++) {
      const reply = await api.unary(M.trades, {
        exchange: exchangeEnum(exchange), market, startTime: tsFromMs(now - span), endTime: tsFromMs(now),
        pageSize: 200, pageToken,
      }, { signal });
      kept = kept.concat(reply.trades).slice(-MAX_TRADES);
      pageToken = reply.nextPageToken;
      if (!pageToken) break;
    }
    if (!pageToken || span === 1_000) {
      return kept.map((st) => {
        const tr = st.trade || {};
        return { exchange, id: String(tr.tradeId), price: tr.price, size: tr.size, side: tr.side, time: tsToMs(st.exchangeTime) };
      });
    }
  }
  return [];
}
