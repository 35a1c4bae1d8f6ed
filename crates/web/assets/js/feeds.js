// Feeds (#/feeds): ListFeeds polled every 2 s while the view is open, and what the board's
// stream reported about itself: the last Gap per exchange and market, and Lagged markers.

import { M, errorText } from './api.js';
import { tsToMs } from './codec.js';
import { Code } from './grpcweb.js';
import { $, el, clear, setTextContent, setHidden, setData, sleep } from './dom.js';
import { exchangeKey, formatCount, formatRate, formatTime, formatDateTime } from './format.js';
import { t, onLangChange } from './i18n.js';

const POLL_MS = 2000;

// Filled by the board's stream handler (app.js), read by the view.
export class StreamStats {
  constructor() {
    this.gaps = new Map();
    this.lag = { count: 0, missed: 0n, last: 0 };
  }

  gap(g) {
    const ex = exchangeKey(g.exchange);
    const market = (g.market && g.market.base) || '';
    this.gaps.set(`${ex}|${market}`, { ex, market, g, seen: Date.now() });
  }

  lagged(l) {
    this.lag.count += 1;
    this.lag.missed += l.missed;
    this.lag.last = Date.now();
  }
}

export class FeedsView {
  constructor(api, stats) {
    this.api = api;
    this.stats = stats;
    this.tbody = $('#feeds tbody');
    this.rows = new Map();
    this.last = null;
    onLangChange(() => this.active && this.renderAll());
  }

  enter() {
    if (this.active) return;
    this.active = true;
    this.life = new AbortController();
    this.renderAll();
    this.poll(this.life.signal).catch((e) => console.error('feeds poll', e));
  }

  leave() {
    this.active = false;
    if (this.life) this.life.abort();
  }

  async poll(signal) {
    while (!signal.aborted) {
      try {
        this.last = await this.api.unary(M.feeds, {}, { signal });
        this.err = null;
      } catch (e) {
        if (signal.aborted) return;
        this.err = e;
        if (e.code === Code.UNIMPLEMENTED) this.last = null;
      }
      this.renderAll();
      await sleep(POLL_MS, signal);
    }
  }

  renderAll() {
    // The distributed shape may not route ingestion's service: one line, keep the rest.
    const e = this.err;
    const note = !e ? '' : e.code === Code.UNIMPLEMENTED ? t('feeds.unimplemented') : errorText(e, t);
    setTextContent($('#feeds-note'), note);
    setHidden($('#feeds-note'), !note);
    this.renderFeeds();
    this.renderGaps();
    this.renderLag();
  }

  renderFeeds() {
    const reply = this.last;
    const feeds = reply ? reply.feeds : [];
    setTextContent($('#feeds-replica'), reply && reply.replica ? `${t('feeds.replica')}: ${reply.replica}` : '');
    const keep = new Set();
    for (const f of feeds) {
      const ex = exchangeKey(f.exchange);
      const key = `${ex}|${f.unit}`;
      keep.add(key);
      let r = this.rows.get(key);
      if (!r) {
        r = { cells: [] };
        for (let i = 0; i < 8; i++) r.cells.push(el('td', { class: i === 1 ? 'state' : i >= 2 && i <= 5 ? 'num' : '' }));
        r.tr = el('tr', { dataset: { exchange: ex } }, ...r.cells);
        this.rows.set(key, r);
      }
      this.tbody.append(r.tr); // keeps server order
      const [name, state, msgs, eps, reconnects, gaps, reason, lastMsg] = r.cells;
      setTextContent(name, (ex ? t(`ex.${ex}`) : String(f.exchange)) + (f.unit ? ` (${f.unit})` : ''));
      setData(state, 'state', String(f.state));
      setTextContent(state, t(String(f.state)));
      setTextContent(msgs, formatCount(f.messages));
      setTextContent(eps, formatRate(f.eventsPerSecond));
      setTextContent(reconnects, formatCount(f.reconnects));
      setTextContent(gaps, formatCount(f.gaps));
      setTextContent(reason, f.lastDisconnectReason || '—');
      setTextContent(lastMsg, formatTime(tsToMs(f.lastMessageTime)) || '—');
    }
    for (const [key, r] of this.rows) {
      if (!keep.has(key)) {
        r.tr.remove();
        this.rows.delete(key);
      }
    }
  }

  renderGaps() {
    const body = $('#gaps tbody');
    clear(body);
    const list = [...this.stats.gaps.values()].sort((a, b) => `${a.ex}${a.market}`.localeCompare(`${b.ex}${b.market}`));
    setHidden($('#gaps-none'), list.length > 0);
    setHidden($('#gaps'), list.length === 0);
    for (const { ex, market, g } of list) {
      const backfilled = g.missedTradesUnknown
        ? `${formatCount(g.backfilledTrades)} (${t('gaps.unknown')})` : formatCount(g.backfilledTrades);
      body.append(el('tr', { dataset: { exchange: ex, market } },
        el('td', {}, ex ? t(`ex.${ex}`) : '—'), el('td', {}, market || '—'),
        el('td', {}, formatDateTime(tsToMs(g.fromTime)) || '—'), el('td', {}, formatDateTime(tsToMs(g.toTime)) || '—'),
        el('td', { class: 'num' }, backfilled), el('td', {}, t(String(g.cause)))));
    }
  }

  renderLag() {
    const lag = this.stats.lag;
    setTextContent($('#lag-count'), formatCount(lag.count));
    setTextContent($('#lag-missed'), formatCount(lag.missed));
    setTextContent($('#lag-last'), lag.last ? formatTime(lag.last) : '—');
  }
}
