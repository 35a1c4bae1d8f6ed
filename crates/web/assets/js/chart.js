// Canvas charts: candlesticks and a line (the spread between two exchanges).
//
// Floats appear here only to place pixels; every number written on the chart is an exact
// decimal (the extremes as received, grid labels by exact interpolation). Canvas sizes come
// from a ResizeObserver, so drawing never reads layout (no forced reflow inside a frame).

import { parse, cmp, lerp, normalize, toNumber, toString } from './decimal.js';
import { formatNumber, formatAxisTime } from './format.js';

export const COLORS = Object.freeze({
  up: '#f0506e', // rising: red, as Korean exchanges show it
  down: '#4c8dff', // falling: blue
  grid: 'rgba(255,255,255,0.07)',
  axis: '#8a93a6',
  text: '#d7dce5',
  line: '#f5c84c',
  zero: 'rgba(255,255,255,0.25)',
});
const FONT = '11px system-ui, -apple-system, "Segoe UI", "Noto Sans KR", sans-serif';
// Right padding (the price axis) is sized to the widest label of each drawing.
const PAD = { l: 6, r: 84, t: 10, b: 20 };

export class Chart {
  constructor(canvas, onResize) {
    this.canvas = canvas;
    this.w = 0;
    this.h = 0;
    this.ro = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1].contentRect;
      this.w = Math.floor(box.width);
      this.h = Math.floor(box.height);
      onResize();
    });
    this.ro.observe(canvas);
  }

  // The 2d context scaled for the device pixel ratio and cleared; null while not laid out.
  begin() {
    if (this.w < 20 || this.h < 20) return null;
    const dpr = window.devicePixelRatio || 1;
    const W = Math.round(this.w * dpr);
    const H = Math.round(this.h * dpr);
    if (this.canvas.width !== W || this.canvas.height !== H) {
      this.canvas.width = W;
      this.canvas.height = H;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    return ctx;
  }

  disconnect() {
    this.ro.disconnect();
  }
}

function message(ctx, chart, msg) {
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = 'center';
  ctx.fillText(msg, chart.w / 2, chart.h / 2);
}

// Five exact labels from lo to hi, at the fewest places that show both ends exactly.
function axisLabels(lo, hi) {
  const scale = Math.min(8, Math.max(normalize(lo).s, normalize(hi).s));
  const out = [];
  for (let k = 0; k <= 4; k++) {
    const v = k === 0 ? lo : k === 4 ? hi : lerp(lo, hi, k, 4, scale);
    out.push({ v, text: formatNumber(toString(v)) });
  }
  return out;
}

// Widens the right padding to fit the price labels (and the last-value tag).
function fitAxis(ctx, labels, tag) {
  let w = ctx.measureText(tag).width;
  for (const l of labels) w = Math.max(w, ctx.measureText(l.text).width);
  PAD.r = Math.max(48, Math.ceil(w) + 14);
}

function grid(ctx, chart, labels, y) {
  const right = chart.w - PAD.r;
  ctx.textAlign = 'left';
  for (const { v, text } of labels) {
    const py = Math.round(y(toNumber(v))) + 0.5;
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(PAD.l, py);
    ctx.lineTo(right, py);
    ctx.stroke();
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(text, right + 6, py);
  }
}

function priceTag(ctx, chart, py, label, color) {
  const right = chart.w - PAD.r;
  ctx.fillStyle = color;
  ctx.fillRect(right + 2, py - 8, PAD.r - 4, 16);
  ctx.fillStyle = '#fff';
  ctx.textAlign = 'left';
  ctx.fillText(label, right + 6, py);
}

function timeAxis(ctx, chart, startT, width, slots, slotW) {
  const every = Math.max(1, Math.ceil(slots / Math.max(2, Math.floor((chart.w - PAD.r) / 70))));
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = 'center';
  const first = Math.ceil(startT / (width * every)) * width * every;
  for (let tm = first; tm < startT + slots * width; tm += width * every) {
    const x = PAD.l + ((tm - startT) / width + 0.5) * slotW;
    ctx.fillText(formatAxisTime(tm, width), x, chart.h - PAD.b / 2);
  }
}

function extremes(values) {
  let lo = null;
  let hi = null;
  for (const [l, h] of values) {
    if (l && (!lo || cmp(l, lo) < 0)) lo = l;
    if (h && (!hi || cmp(h, hi) > 0)) hi = h;
  }
  return [lo, hi];
}

// candles: oldest first ({time, open, high, low, close} decimal strings). The window ends
// with the bucket holding `now` (or the last candle) and spans `slots` intervals.
export function drawCandles(chart, candles, { width, slots, now, empty }) {
  const ctx = chart.begin();
  if (!ctx) return;
  const endT = Math.max(Math.floor(now / width) * width, candles.length ? candles[candles.length - 1].time : 0);
  const startT = endT - (slots - 1) * width;
  const shown = candles.filter((c) => c.time >= startT);
  if (!shown.length) return message(ctx, chart, empty);
  const parsed = shown.map((c) => ({ c, o: parse(c.open), h: parse(c.high), l: parse(c.low), x: parse(c.close) }));
  const [lo, hi] = extremes(parsed.map((p) => [p.l, p.h]));
  const last = parsed[parsed.length - 1];
  const labels = axisLabels(lo, hi);
  fitAxis(ctx, labels, formatNumber(last.c.close));
  let loN = toNumber(lo);
  let hiN = toNumber(hi);
  if (hiN === loN) {
    hiN += Math.abs(hiN) * 0.001 || 1;
    loN -= Math.abs(loN) * 0.001 || 1;
  }
  const ph = chart.h - PAD.t - PAD.b;
  const y = (v) => PAD.t + ((hiN - v) / (hiN - loN)) * ph;
  grid(ctx, chart, labels, y);
  const slotW = (chart.w - PAD.l - PAD.r) / slots;
  const bodyW = Math.max(1, Math.floor(slotW * 0.7));
  for (const p of parsed) {
    const x = Math.floor(PAD.l + ((p.c.time - startT) / width) * slotW + (slotW - bodyW) / 2);
    const up = cmp(p.x, p.o) >= 0;
    ctx.fillStyle = ctx.strokeStyle = up ? COLORS.up : COLORS.down;
    const cx = x + Math.floor(bodyW / 2) + 0.5;
    ctx.beginPath();
    ctx.moveTo(cx, y(toNumber(p.h)));
    ctx.lineTo(cx, y(toNumber(p.l)));
    ctx.stroke();
    const yo = y(toNumber(p.o));
    const yc = y(toNumber(p.x));
    ctx.fillRect(x, Math.min(yo, yc), bodyW, Math.max(1, Math.abs(yc - yo)));
  }
  timeAxis(ctx, chart, startT, width, slots, slotW);
  priceTag(ctx, chart, y(toNumber(last.x)), formatNumber(last.c.close),
    cmp(last.x, last.o) >= 0 ? COLORS.up : COLORS.down);
}

// points: [{time, value}] oldest first, value a decimal string; x spans [startT, endT].
export function drawLine(chart, points, { startT, endT, width, empty }) {
  const ctx = chart.begin();
  if (!ctx) return;
  const parsed = points.map((p) => ({ t: p.time, v: parse(p.value) })).filter((p) => p.v);
  if (!parsed.length) return message(ctx, chart, empty);
  const zero = { n: 0n, s: 0 };
  let [lo, hi] = extremes(parsed.map((p) => [p.v, p.v]));
  // Keep zero in view: the sign of the spread is the point of this chart.
  if (cmp(lo, zero) > 0) lo = zero;
  if (cmp(hi, zero) < 0) hi = zero;
  const last = parsed[parsed.length - 1];
  const labels = axisLabels(lo, hi);
  fitAxis(ctx, labels, formatNumber(toString(last.v)));
  let loN = toNumber(lo);
  let hiN = toNumber(hi);
  if (hiN === loN) {
    hiN += 1;
    loN -= 1;
  }
  const ph = chart.h - PAD.t - PAD.b;
  const y = (v) => PAD.t + ((hiN - v) / (hiN - loN)) * ph;
  grid(ctx, chart, labels, y);
  const slots = Math.max(1, Math.round((endT - startT) / width) + 1);
  const slotW = (chart.w - PAD.l - PAD.r) / slots;
  const x = (tm) => PAD.l + ((tm - startT) / width + 0.5) * slotW;
  ctx.strokeStyle = COLORS.zero;
  ctx.beginPath();
  ctx.moveTo(PAD.l, Math.round(y(0)) + 0.5);
  ctx.lineTo(chart.w - PAD.r, Math.round(y(0)) + 0.5);
  ctx.stroke();
  ctx.strokeStyle = COLORS.line;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  parsed.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(toNumber(p.v))) : ctx.moveTo(x(p.t), y(toNumber(p.v)))));
  ctx.stroke();
  ctx.lineWidth = 1;
  if (parsed.length === 1) {
    ctx.fillStyle = COLORS.line;
    ctx.fillRect(x(parsed[0].t) - 2, y(toNumber(parsed[0].v)) - 2, 4, 4);
  }
  timeAxis(ctx, chart, startT, width, slots, slotW);
  priceTag(ctx, chart, y(toNumber(last.v)), formatNumber(toString(last.v)), '#6b5b1f');
}
