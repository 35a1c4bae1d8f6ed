// Subscriptions (#/subs): ListSubscriptions, then kept current by WatchSubscriptions
// (a snapshot, then single additions and removals); add and remove through the form and
// the per-row buttons. Server errors are shown in #sub-error in the server's words.

import { M, errorText } from './api.js';
import { ResilientStream } from './conn.js';
import { tsToMs } from './codec.js';
import { Code } from './grpcweb.js';
import { $, el, clear, setTextContent, setHidden, exchangeOptions } from './dom.js';
import { EXCHANGES, exchangeKey, exchangeEnum, formatDateTime } from './format.js';
import { t, onLangChange } from './i18n.js';

export class SubsView {
  constructor(api, { onAdded } = {}) {
    this.api = api;
    this.onAdded = onAdded || (() => {});
    this.subs = new Map();
    this.form = $('#sub-add');
    this.tbody = $('#subs-list');
    exchangeOptions(this.form.elements.exchange, t, EXCHANGES, 'upbit');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.add();
    });
    this.tbody.addEventListener('click', (e) => {
      const b = e.target.closest('button.remove');
      const tr = b && b.closest('tr[data-market]');
      if (tr) this.remove(tr.dataset.exchange, tr.dataset.market, b);
    });
    onLangChange(() => {
      exchangeOptions(this.form.elements.exchange, t, EXCHANGES, this.form.elements.exchange.value);
      this.render();
    });
  }

  enter() {
    if (this.active) return;
    this.active = true;
    this.life = new AbortController();
    this.error('');
    this.load(this.life.signal);
  }

  leave() {
    this.active = false;
    if (this.life) this.life.abort();
    if (this.watch) this.watch.stop();
    this.watch = null;
  }

  async load(signal) {
    try {
      const reply = await this.api.unary(M.listSubs, {}, { signal });
      this.replace(reply.subscriptions);
    } catch (e) {
      if (signal.aborted) return;
      this.error(errorText(e, t));
    }
    if (signal.aborted) return;
    // Every (re)connection of the watch starts with a snapshot, so no cursor is needed.
    this.watch = new ResilientStream(this.api, M.watchSubs, {
      request: () => ({}),
      onMessage: (m) => this.onChange(m),
    });
    this.watch.start();
  }

  key(s) {
    return `${exchangeKey(s.exchange)}|${s.market ? s.market.base : ''}`;
  }

  replace(list) {
    this.subs.clear();
    for (const s of list) this.subs.set(this.key(s), s);
    this.render();
  }

  onChange(m) {
    if (m.snapshot) this.replace(m.snapshot.subscriptions);
    else if (m.added) {
      this.subs.set(this.key(m.added), m.added);
      this.onAdded(m.added);
      this.render();
    } else if (m.removed) {
      this.subs.delete(this.key(m.removed));
      this.render();
    }
  }

  error(msg) {
    const box = $('#sub-error');
    setTextContent(box, msg);
    setHidden(box, !msg);
  }

  async add() {
    const f = this.form.elements;
    const market = f.market.value.trim();
    const button = this.form.querySelector('button[type=submit]');
    this.error('');
    button.disabled = true;
    try {
      const reply = await this.api.unary(M.createSub, { exchange: exchangeEnum(f.exchange.value), market });
      for (const s of reply.subscriptions) {
        this.subs.set(this.key(s), s);
        this.onAdded(s);
      }
      f.market.value = '';
      this.render();
    } catch (e) {
      if (e.code !== Code.CANCELLED) this.error(errorText(e, t));
    } finally {
      button.disabled = false;
    }
  }

  async remove(exchange, market, button) {
    this.error('');
    button.disabled = true;
    try {
      const reply = await this.api.unary(M.deleteSub, { exchange: exchangeEnum(exchange), market });
      for (const s of reply.removed) this.subs.delete(this.key(s));
      // Nothing removed means it was already gone: drop the stale row all the same.
      this.subs.delete(`${exchange}|${market}`);
      this.render();
    } catch (e) {
      button.disabled = false;
      this.error(errorText(e, t));
    }
  }

  render() {
    clear(this.tbody);
    const list = [...this.subs.values()].sort((a, b) => this.sortKey(a).localeCompare(this.sortKey(b)));
    setHidden($('#subs-empty'), list.length > 0);
    for (const s of list) {
      const ex = exchangeKey(s.exchange);
      const market = s.market ? s.market.base : '';
      this.tbody.append(el('tr', { dataset: { exchange: ex, market } },
        el('td', { class: 'mkt' }, market, el('span', { class: 'quote' }, `/${(s.market && s.market.quote) || 'KRW'}`)),
        el('td', {}, t(`ex.${ex}`)),
        el('td', {}, formatDateTime(tsToMs(s.createdTime)) || '—'),
        el('td', {}, el('button', { type: 'button', class: 'remove' }, t('subs.remove')))));
    }
  }

  sortKey(s) {
    return `${s.market ? s.market.base : ''}|${EXCHANGES.indexOf(exchangeKey(s.exchange))}`;
  }
}
