// Small DOM helpers shared by the views, and the frame scheduler. Setters compare before
// writing so a render pass that finds nothing changed touches nothing (no style
// recalculation, no layout). Nothing here touches the DOM at import, so node can import it.

export const $ = (sel, root = document) => root.querySelector(sel);

// el('td', {class: 'x', dataset: {exchange: 'upbit'}}, child, 'text')
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// A text node to update in place; .data writes are cheaper than textContent on an element.
export function text(initial = '') {
  return document.createTextNode(initial);
}

export function setText(node, value) {
  if (node.data !== value) node.data = value;
}

export function setTextContent(node, value) {
  if (node.textContent !== value) node.textContent = value;
}

export function setClass(node, value) {
  if (node.className !== value) node.className = value;
}

export function setData(node, key, value) {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

export function setHidden(node, hidden) {
  if (node.hidden !== hidden) node.hidden = hidden;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

// <option>s for the three exchanges, labels through t().
export function exchangeOptions(select, t, keys, selected) {
  clear(select);
  for (const k of keys) select.append(el('option', { value: k, selected: k === selected }, t(`ex.${k}`)));
}

// One requestAnimationFrame callback per frame for the whole page. Views register a render
// function when their model changed; however many events arrive, each view renders at
// most once per frame, after which `debug.frames` counts the frame.

// The test hook window.tickmesh (app.js exposes this very object).
export const debug = { events: 0, frames: 0, lastCursor: '', lastTradeIds: [] };

const tasks = new Set();
let scheduled = false;

function run() {
  scheduled = false;
  const list = [...tasks];
  tasks.clear();
  for (const fn of list) {
    try {
      fn();
    } catch (e) {
      // One view's bug must not stop the others from drawing.
      console.error('render failed', e);
    }
  }
  debug.frames++;
}

export function schedule(fn) {
  tasks.add(fn);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(run);
  }
}

// Resolves after ms, or at once when signal aborts (never rejects: callers check the signal).
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) return resolve();
    const id = setTimeout(done, ms);
    function done() {
      clearTimeout(id);
      if (signal) signal.removeEventListener('abort', done);
      resolve();
    }
    if (signal) signal.addEventListener('abort', done, { once: true });
  });
}
