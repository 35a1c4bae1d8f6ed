// The live board (#/): one row per market, one cell per exchange, and the spread.
//
// Stream events only touch the BoardModel; render() runs from the shared rAF scheduler and
// rewrites only the rows the model marked dirty, and in them only the text nodes, classes
// and data attributes whose value changed. Rows are created once per market, never per event.

import { rowView } from './model.js';
import { el, text, setText, setClass, setData, setHidden, schedule } from './dom.js';
import { formatKRW, formatPercent, EXCHANGES } from './format.js';
import { t, onLangChange } from './i18n.js';

export class BoardView {
  constructor(model, table, empty) {
    this.model = model;
    this.table = table;
    this.tbody = table.tBodies[0];
    this.empty = empty;
    this.rows = new Map();
    this.visible = false;
    this.render = this.render.bind(this);
    // One listener for every row: open the market view.
    const open = (e) => {
      const tr = e.target.closest('tr[data-market]');
      if (tr) location.hash = `#/market/${tr.dataset.market}`;
    };
    this.tbody.addEventListener('click', open);
    this.tbody.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') open(e);
    });
    onLangChange(() => {
      for (const r of this.rows.values()) {
        for (const ex of EXCHANGES) setText(r.cells[ex].label, t(`ex.${ex}`));
        setText(r.spreadLabel, t('col.spread'));
      }
      // The 최고/최저 marks are words: redraw every row in the new language.
      for (const row of this.model.rows.values()) this.model.dirty.add(row);
      this.invalidate();
    });
  }

  show(visible) {
    this.visible = visible;
    if (visible) this.invalidate();
  }

  // Called by the stream handler after model updates; cheap to call per event.
  invalidate() {
    if (this.visible) schedule(this.render);
  }

  createRow(market) {
    const cells = {};
    const tds = [];
    for (const ex of EXCHANGES) {
      const c = {
        label: text(t(`ex.${ex}`)), price: text(), abs: text(), pct: text(), mark: text(),
        state: { cls: '', price: null },
      };
      c.td = el('td', { dataset: { exchange: ex, price: '' } },
        el('span', { class: 'ex-label' }, c.label),
        el('span', { class: 'price' }, el('span', { class: 'mark' }, c.mark), c.price),
        el('span', { class: 'chg' }, el('span', { class: 'chg-abs' }, c.abs), ' ', el('span', { class: 'chg-pct' }, c.pct)));
      cells[ex] = c;
      tds.push(c.td);
    }
    const spreadLabel = text(t('col.spread'));
    const spreadAbs = text();
    const spreadPct = text();
    const spreadTd = el('td', { class: 'spread', dataset: { spread: '', spreadPercent: '' } },
      el('span', { class: 'ex-label' }, spreadLabel),
      el('span', { class: 'price' }, spreadAbs), el('span', { class: 'chg' }, spreadPct));
    const tr = el('tr', { tabindex: '0', dataset: { market } },
      el('th', { scope: 'row', class: 'mkt' }, market, el('span', { class: 'quote' }, '/KRW')), ...tds, spreadTd);
    return { tr, cells, spreadTd, spreadAbs, spreadPct, spreadLabel };
  }

  // New markets: create their rows and put all rows in sorted order (moves only the rows
  // that are out of place).
  syncRows() {
    const markets = this.model.markets();
    let prev = null;
    for (const m of markets) {
      let r = this.rows.get(m);
      if (!r) {
        r = this.createRow(m);
        this.rows.set(m, r);
      }
      const expected = prev ? prev.nextSibling : this.tbody.firstChild;
      if (expected !== r.tr) this.tbody.insertBefore(r.tr, expected);
      prev = r.tr;
    }
    setHidden(this.empty, markets.length > 0);
  }

  render() {
    if (!this.visible) return;
    if (this.model.structureChanged) {
      this.model.structureChanged = false;
      this.syncRows();
    }
    for (const row of this.model.takeDirty()) {
      const r = this.rows.get(row.market);
      if (r) this.renderRow(r, rowView(row));
    }
  }

  renderRow(r, v) {
    for (const ex of EXCHANGES) {
      const c = r.cells[ex];
      const cv = v.cells[ex];
      if (c.state.price !== cv.price) {
        c.state.price = cv.price;
        setData(c.td, 'price', cv.price);
        setText(c.price, cv.price ? formatKRW(cv.price) : '—');
      }
      setText(c.abs, cv.change ? formatKRW(cv.change, { signed: true }) : '');
      setText(c.pct, cv.changePercent ? formatPercent(cv.changePercent, { signed: true }) : '');
      let cls = cv.dir > 0 ? 'up' : cv.dir < 0 ? 'down' : '';
      const high = v.high.includes(ex);
      const low = v.low.includes(ex);
      if (high) cls += ' high';
      if (low) cls += ' low';
      setClass(c.td, cls.trim());
      // In words too, not only by colour: 최고 / 최저.
      setText(c.mark, high ? t('col.high') : low ? t('col.low') : '');
    }
    setData(r.spreadTd, 'spread', v.spread);
    setData(r.spreadTd, 'spreadPercent', v.spreadPercent);
    setText(r.spreadAbs, v.spread ? formatKRW(v.spread) : '—');
    setText(r.spreadPct, v.spreadPercent ? formatPercent(v.spreadPercent) : '');
  }
}
