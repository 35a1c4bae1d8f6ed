// The market view (#/market/BTC): candles, recent trades, order book and the spread between
// two exchanges. It opens its own StreamTicks for the market (all three kinds) on enter and
// cancels it on leave; history calls of a left view are aborted and their answers dropped.

import { M, errorText } from './api.js';
import { ResilientStream } from './conn.js';
import { CandleSeries, INTERVALS, WINDOW_CANDLES, fromProto, intervalByKey } from './candles.js';
import { Chart, drawCandles, drawLine } from './chart.js';
import { TradesPanel, BookPanel, recentTrades } from './panels.js';
import { tsFromMs, tsToMs } from './codec.js';
import { rowView } from './model.js';
import { $, el, text, setText, setClass, setTextContent, exchangeOptions, schedule, debug, sleep } from './dom.js';
import { EXCHANGES, exchangeKey, exchangeEnum, formatKRW, formatPercent } from './format.js';
import { t, onLangChange } from './i18n.js';
import { Code } from './grpcweb.js';

const KINDS = ['EVENT_KIND_TICKER', 'EVENT_KIND_TRADE', 'EVENT_KIND_ORDER_BOOK'];
const RETRY_MS = 5000;
const SPREAD_REFRESH_MS = 30_000;
// The view redraws at most this often: fifty trade rows, a book and a canvas rewritten at
// 60 Hz cost layout and paint that nobody can read that fast; ~12 Hz still looks live.
const MIN_FRAME_MS = 80;

export class MarketView {
  constructor(api, model) {
    this.api = api;
    this.model = model;
    this.root = $('#market');
    this.exchange = 'upbit';
    this.interval = '1m';
    this.base = 'upbit';
    this.other = 'bithumb';
    this.trades = new TradesPanel($('#trades'));
    this.book = new BookPanel($('#book'));
    this.render = this.render.bind(this);
    this.candleChart = new Chart($('#candles'), () => this.redraw('candles'));
    this.spreadChart = new Chart($('#spread-chart'), () => this.redraw('spread'));
    this.buildControls();
    this.buildHeader();
    onLangChange(() => {
      this.buildControls();
      this.trades.render(true);
      this.redraw('candles');
      this.redraw('spread');
    });
  }

  buildControls() {
    exchangeOptions($('#mv-exchange'), t, EXCHANGES, this.exchange);
    exchangeOptions($('#spread-base'), t, EXCHANGES, this.base);
    exchangeOptions($('#spread-other'), t, EXCHANGES, this.other);
    const box = $('#mv-interval');
    if (!box.firstChild) {
      for (const iv of INTERVALS) box.append(el('button', { type: 'button', dataset: { interval: iv.key } }, iv.key));
      box.addEventListener('click', (e) => {
        const b = e.target.closest('button[data-interval]');
        if (b && b.dataset.interval !== this.interval) {
          this.interval = b.dataset.interval;
          this.markInterval();
          this.loadCandles();
          this.loadSpread();
        }
      });
      $('#mv-exchange').addEventListener('change', (e) => {
        this.exchange = e.target.value;
        this.book.set((this.books || {})[this.exchange] || null);
        this.loadCandles();
      });
      const onSpreadPick = () => {
        this.base = $('#spread-base').value;
        this.other = $('#spread-other').value;
        this.loadSpread();
      };
      $('#spread-base').addEventListener('change', onSpreadPick);
      $('#spread-other').addEventListener('change', onSpreadPick);
    }
    this.markInterval();
  }

  markInterval() {
    for (const b of $('#mv-interval').children) b.setAttribute('aria-pressed', String(b.dataset.interval === this.interval));
  }

  buildHeader() {
    this.head = {};
    const box = $('#mv-prices');
    for (const ex of EXCHANGES) {
      const h = { label: text(), price: text(), pct: text() };
      h.node = el('span', { class: 'mv-price', dataset: { exchange: ex } }, el('span', { class: 'ex-name' }, h.label), ' ',
        el('strong', {}, h.price), ' ', el('span', { class: 'chg' }, h.pct));
      this.head[ex] = h;
      box.append(h.node);
    }
  }

  enter(market) {
    if (this.active && this.market === market) return;
    this.leave();
    this.active = true;
    this.market = market;
    this.root.dataset.market = market;
    setTextContent($('#mv-title'), `${market}/KRW`);
    this.session = new AbortController();
    this.books = {};
    this.stream = new ResilientStream(this.api, M.streamTicks, {
      request: (cursor) => ({ markets: [market], kinds: KINDS, resumeAfter: cursor }),
      cursorOf: (m) => m.cursor,
      onMessage: (m) => this.onItem(m),
    });
    this.stream.start();
    this.loadCandles();
    this.loadSpread();
    this.loadTrades();
    this.spreadTimer = setInterval(() => this.loadSpread(), SPREAD_REFRESH_MS);
    this.requestRender();
  }

  leave() {
    if (!this.active) return;
    this.active = false;
    this.session.abort();
    this.stream.stop();
    clearInterval(this.spreadTimer);
    this.trades.reset();
    this.book.set(null);
    this.series = null;
    this.points = null;
    this.candleGen = (this.candleGen || 0) + 1;
    this.spreadGen = (this.spreadGen || 0) + 1;
  }

  onItem(m) {
    debug.events++;
    const ev = m.event;
    if (!ev || !this.active) return;
    const ex = exchangeKey(ev.exchange);
    if (!ex) return;
    if (ev.trade) {
      const tr = ev.trade;
      const time = tsToMs(ev.exchangeTime);
      this.trades.add({ exchange: ex, id: tr.tradeId.toString(), price: tr.price, size: tr.size, side: tr.side, time });
      if (ex === this.exchange) {
        if (this.series) this.candlesDirty = this.series.applyTrade(tr.price, tr.size, time) || this.candlesDirty;
        else if (this.early && this.early.length < 20_000) this.early.push([tr.price, tr.size, time]);
      }
    } else if (ev.orderBook) {
      this.books[ex] = ev.orderBook;
      if (ex === this.exchange) this.book.set(ev.orderBook);
    }
    this.requestRender();
  }

  redraw(which) {
    if (which === 'candles') this.candlesDirty = true;
    else this.spreadDirty = true;
    this.requestRender();
  }

  // Asks for a frame, no sooner than MIN_FRAME_MS after the last one.
  requestRender() {
    if (this.renderPending) return;
    this.renderPending = true;
    const wait = MIN_FRAME_MS - (performance.now() - (this.lastFrame || 0));
    if (wait <= 0) schedule(this.render);
    else setTimeout(() => schedule(this.render), wait);
  }

  render() {
    this.renderPending = false;
    if (!this.active) return;
    this.lastFrame = performance.now();
    this.trades.render();
    this.book.render();
    this.renderHeader();
    if (this.candlesDirty) {
      this.candlesDirty = false;
      const iv = intervalByKey(this.interval);
      drawCandles(this.candleChart, this.series ? this.series.candles : [], {
        width: iv.ms, slots: WINDOW_CANDLES, now: Date.now(), empty: this.series ? t('market.noCandles') : t('market.loading'),
      });
    }
    if (this.spreadDirty) {
      this.spreadDirty = false;
      const iv = intervalByKey(this.interval);
      const endT = Math.floor(Date.now() / iv.ms) * iv.ms;
      drawLine(this.spreadChart, this.points || [], {
        startT: endT - (WINDOW_CANDLES - 1) * iv.ms, endT, width: iv.ms,
        empty: this.base === this.other ? t('market.sameExchange') : this.points ? t('market.noSpread') : t('market.loading'),
      });
    }
  }

  renderHeader() {
    const row = this.model.rows.get(this.market);
    const v = row ? rowView(row) : null;
    for (const ex of EXCHANGES) {
      const h = this.head[ex];
      const c = v && v.cells[ex];
      setText(h.label, t(`ex.${ex}`));
      setText(h.price, c && c.price ? formatKRW(c.price) : '—');
      setText(h.pct, c && c.changePercent ? formatPercent(c.changePercent, { signed: true }) : '');
      setClass(h.node, `mv-price${c && c.dir > 0 ? ' up' : c && c.dir < 0 ? ' down' : ''}`);
    }
  }

  // Runs fn again after RETRY_MS when it failed with UNAVAILABLE (the server may be back).
  retry(fn, e, signal) {
    if (e.code === Code.UNAVAILABLE && !signal.aborted) sleep(RETRY_MS, signal).then(() => !signal.aborted && fn());
  }

  window(iv) {
    const now = Date.now();
    return { startTime: tsFromMs(now - WINDOW_CANDLES * iv.ms), endTime: tsFromMs(now) };
  }

  async loadCandles() {
    const gen = (this.candleGen = (this.candleGen || 0) + 1);
    const iv = intervalByKey(this.interval);
    const signal = this.session.signal;
    this.series = null;
    this.early = [];
    this.redraw('candles');
    setTextContent($('#candles-note'), '');
    try {
      const reply = await this.api.unary(M.candles, {
        exchange: exchangeEnum(this.exchange), market: this.market, interval: iv.name, ...this.window(iv),
      }, { signal });
      if (gen !== this.candleGen) return;
      this.series = new CandleSeries(iv.ms, reply.candles.map(fromProto));
    } catch (e) {
      if (gen !== this.candleGen || e.code === Code.CANCELLED) return;
      setTextContent($('#candles-note'), errorText(e, t));
      // Live trades still draw candles; a later retry brings the history in.
      this.series = new CandleSeries(iv.ms);
      this.retry(() => gen === this.candleGen && this.loadCandles(), e, signal);
    }
    // Trades that came while the history loaded (they may overlap it; close, high and low
    // are unaffected by a repeat, only the volume could count one twice).
    for (const [price, size, time] of this.early) this.series.applyTrade(price, size, time);
    this.early = null;
    this.redraw('candles');
  }

  async loadSpread() {
    const gen = (this.spreadGen = (this.spreadGen || 0) + 1);
    const signal = this.session.signal;
    const iv = intervalByKey(this.interval);
    setTextContent($('#spread-note'), '');
    if (this.base === this.other) {
      this.points = [];
      setTextContent($('#spread-now'), '');
      return this.redraw('spread');
    }
    try {
      const reply = await this.api.unary(M.spread, {
        market: this.market, baseExchange: exchangeEnum(this.base), otherExchange: exchangeEnum(this.other),
        interval: iv.name, ...this.window(iv),
      }, { signal });
      if (gen !== this.spreadGen) return;
      this.points = reply.points.map((p) => ({ time: tsToMs(p.time), value: p.spread, percent: p.spreadPercent }));
      const last = this.points[this.points.length - 1];
      setTextContent($('#spread-now'), last
        ? `${t(`ex.${this.other}`)} − ${t(`ex.${this.base}`)}: ${formatKRW(last.value, { signed: true })} (${formatPercent(last.percent, { signed: true })})`
        : '');
    } catch (e) {
      if (gen !== this.spreadGen || e.code === Code.CANCELLED) return;
      setTextContent($('#spread-note'), errorText(e, t));
      this.retry(() => gen === this.spreadGen && this.loadSpread(), e, signal);
    }
    this.redraw('spread');
  }

  loadTrades() {
    const signal = this.session.signal;
    for (const ex of EXCHANGES) {
      recentTrades(this.api, this.market, ex, signal).then((list) => {
        if (signal.aborted) return;
        for (const tr of list) this.trades.add(tr);
        this.requestRender();
      }, (e) => {
        if (e.code !== Code.CANCELLED) console.warn(`ListTrades ${ex}:`, e.message);
      });
    }
  }
}
