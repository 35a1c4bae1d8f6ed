// Entry point: language, the hash router, the connection indicator and the board's stream.
//
// The board's StreamTicks (tickers and trades of every market) runs whatever view is shown:
// it is the page's connection, it keeps the board model current, and it feeds the Gap and
// Lagged figures of the feeds view.

import { parseDescriptorSet } from './descriptor.js';
import { GrpcClient } from './transport.js';
import { Auth, createApi, M } from './api.js';
import { ResilientStream, backoffDelay } from './conn.js';
import { BoardModel } from './model.js';
import { BoardView } from './board.js';
import { MarketView } from './market.js';
import { FeedsView, StreamStats } from './feeds.js';
import { SubsView } from './subs.js';
import { Code } from './grpcweb.js';
import { baseOf } from './format.js';
import { $, setTextContent, setHidden, debug, sleep } from './dom.js';
import { t, setLang, getLang, detectLang, onLangChange } from './i18n.js';

window.tickmesh = debug;
const LANG_KEY = 'tickmesh.lang';
const MARKETS_REFRESH_MS = 15_000;

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function applyI18n() {
  document.documentElement.lang = getLang();
  for (const n of document.querySelectorAll('[data-i18n]')) setTextContent(n, t(n.dataset.i18n));
  for (const n of document.querySelectorAll('[data-i18n-placeholder]')) n.placeholder = t(n.dataset.i18nPlaceholder);
  setTextContent($('#lang'), t('lang.switch'));
  $('#lang').setAttribute('lang', getLang() === 'ko' ? 'en' : 'ko');
  renderConn();
}

// Connection indicator and banner.
const conn = { state: 'connecting', retryAt: 0, failed: false, schemaError: false };
let bannerTimer = 0;

function renderConn() {
  document.body.dataset.conn = conn.state;
  setTextContent($('#conn'), t(`conn.${conn.state}`));
  const banner = $('#banner');
  let msg = '';
  if (conn.schemaError) msg = t('banner.schema');
  else if (conn.state === 'disconnected') {
    msg = t('banner.retry', { n: Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000)) });
  } else if (conn.state === 'connecting' && conn.failed) msg = t('banner.reconnecting');
  setTextContent(banner, msg);
  setHidden(banner, !msg);
}

function setConn(state, info = {}) {
  conn.state = state;
  if (state === 'disconnected') {
    conn.failed = true;
    conn.retryAt = info.retryAt || Date.now();
  }
  if (state === 'live') conn.failed = false;
  clearInterval(bannerTimer);
  // The countdown ticks while disconnected.
  if (state === 'disconnected') bannerTimer = setInterval(renderConn, 250);
  renderConn();
}

async function loadRegistry() {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch('/descriptors.pb', { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const registry = parseDescriptorSet(new Uint8Array(await res.arrayBuffer()));
      conn.schemaError = false;
      renderConn();
      return registry;
    } catch (e) {
      console.warn('descriptors.pb:', e.message);
      conn.schemaError = true;
      setConn('disconnected', { retryAt: Date.now() + backoffDelay(attempt) });
      await sleep(conn.retryAt - Date.now());
    }
  }
}

function router(views) {
  let current = null;
  return function route() {
    const h = location.hash || '#/';
    let name = 'board';
    let arg;
    const m = /^#\/market\/([A-Za-z0-9._-]+)/.exec(h);
    if (m) {
      name = 'market';
      arg = baseOf(m[1]);
      $('#nav-market').href = `#/market/${arg}`;
    } else if (h.startsWith('#/feeds')) name = 'feeds';
    else if (h.startsWith('#/subs')) name = 'subs';
    for (const s of document.querySelectorAll('[data-view]')) setHidden(s, s.dataset.view !== name);
    for (const a of document.querySelectorAll('nav a[data-route]')) {
      if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (current && current !== name) views[current].leave();
    current = name;
    views[name].enter(arg);
  };
}

async function main() {
  setLang(detectLang(stored(LANG_KEY), navigator.language));
  applyI18n();
  onLangChange(applyI18n);
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'ko' ? 'en' : 'ko');
    try {
      localStorage.setItem(LANG_KEY, getLang());
    } catch {
      // Private mode: the choice lasts for this page only.
    }
  });
  setConn('connecting');

  const registry = await loadRegistry();
  const api = createApi(new GrpcClient(registry), new Auth());
  const model = new BoardModel();
  const stats = new StreamStats();
  const board = new BoardView(model, $('#board'), $('#board-empty'));
  const filled = new Set();

  // GetLatestTickers for each market (all of them on a refill, else only new ones). A
  // refill asked for while another fill runs follows it, so it is never lost.
  let filling = null;
  let refillQueued = false;
  let listedOnce = false;
  async function fill(all) {
    if (filling) {
      refillQueued = refillQueued || all;
      return filling;
    }
    filling = (async () => {
      try {
        const reply = await api.unary(M.listSubs, {});
        for (const s of reply.subscriptions) if (s.market) model.ensure(s.market.base);
        listedOnce = true;
      } catch (e) {
        if (e.code !== Code.UNAVAILABLE) console.warn('ListSubscriptions:', e.message);
      }
      board.invalidate();
      const todo = model.markets().filter((mk) => all || !filled.has(mk));
      await Promise.all(todo.map(async (market) => {
        try {
          if (model.applyLatest(await api.unary(M.latest, { market }))) board.invalidate();
          filled.add(market);
        } catch (e) {
          // UNAVAILABLE is retried by the next refresh; anything else is worth a note.
          if (e.code !== Code.UNAVAILABLE) console.warn(`GetLatestTickers ${market}:`, e.message);
        }
      }));
    })();
    try {
      await filling;
    } finally {
      filling = null;
      if (refillQueued) {
        refillQueued = false;
        fill(true);
      }
    }
  }

  let refillTimer = 0;
  function refillSoon() {
    if (!refillTimer) refillTimer = setTimeout(() => { refillTimer = 0; fill(true); }, 2000);
  }

  const ringSize = 20;
  let everOpened = false;
  const boardStream = new ResilientStream(api, M.streamTicks, {
    request: (cursor) => ({ kinds: ['EVENT_KIND_TICKER', 'EVENT_KIND_TRADE'], resumeAfter: cursor }),
    cursorOf: (m) => m.cursor,
    onState: setConn,
    onOpen: () => {
      // After a reconnect the replay closes the gap in events; the refill brings tickers
      // (and markets) that changed while the page was away. The first open refills only
      // when the fill at start could not reach the server.
      if (everOpened || (!filling && !listedOnce)) fill(true);
      everOpened = true;
    },
    onMessage: (m) => {
      debug.events++;
      debug.lastCursor = m.cursor;
      const ev = m.event;
      if (ev) {
        if (model.applyEvent(ev)) board.invalidate();
        if (ev.trade) {
          debug.lastTradeIds.push(ev.trade.tradeId.toString());
          if (debug.lastTradeIds.length > ringSize) debug.lastTradeIds.shift();
        }
      } else if (m.gap) stats.gap(m.gap);
      else if (m.lagged) {
        // Events were dropped for this page: the latest tickers put the board right again.
        stats.lagged(m.lagged);
        refillSoon();
      }
    },
  });

  const views = {
    board: { enter: () => board.show(true), leave: () => board.show(false) },
    market: new MarketView(api, model),
    feeds: new FeedsView(api, stats),
    subs: new SubsView(api, {
      onAdded: (s) => {
        if (s.market && model.ensure(s.market.base)) {
          board.invalidate();
          fill(false);
        }
      },
    }),
  };
  const route = router(views);
  window.addEventListener('hashchange', route);
  route();
  fill(true);
  boardStream.start();
  setInterval(() => fill(false), MARKETS_REFRESH_MS);
}

window.addEventListener('unhandledrejection', (e) => console.error('unhandled rejection', e.reason));
main().catch((e) => console.error('tickmesh failed to start', e));
