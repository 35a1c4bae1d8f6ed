// Display formatting of decimal strings, counts and times. Pure string work: a price is
// never parsed into a float, so what the exchange sent is what is shown (digits grouped).

// Fraction digits shown at most; longer fractions are cut for display only (the exact
// value stays in data-* attributes and in the model). A fraction of only zeros
// ("116467000.00000000", as some exchanges and the server's arithmetic write whole
// prices) is not shown: it carries no digit of the value. Any other fraction is shown as
// sent, trailing zeros included ("0.50").
export const MAX_FRACTION = 8;

const NUM = /^([+-]?)(\d*)(?:\.(\d*))?$/;

function group(int) {
  let out = '';
  let i = int.length;
  while (i > 3) {
    out = `,${int.slice(i - 3, i)}${out}`;
    i -= 3;
  }
  return int.slice(0, i) + out;
}

// Splits "-1234.5" into its parts; null when it is not a plain decimal string.
function split(text) {
  if (text === null || text === undefined || text === '') return null;
  const m = NUM.exec(String(text).trim());
  if (!m || (!m[2] && !m[3])) return null;
  const int = (m[2] || '0').replace(/^0+(?=\d)/, '');
  const frac = m[3] || '';
  const zero = /^0*$/.test(int) && /^0*$/.test(frac);
  return { neg: m[1] === '-' && !zero, int, frac, zero };
}

function body(p, maxFraction, dropZeroFraction = true) {
  let frac = p.frac.length > maxFraction ? p.frac.slice(0, maxFraction) : p.frac;
  if (dropZeroFraction && /^0*$/.test(frac)) frac = '';
  return frac ? `${group(p.int)}.${frac}` : group(p.int);
}

// "95000000" -> "95,000,000"; "0.00012345" -> "0.00012345". Empty or invalid -> "".
export function formatNumber(text, { maxFraction = MAX_FRACTION, signed = false } = {}) {
  const p = split(text);
  if (!p) return '';
  const sign = p.neg ? '−' : signed && !p.zero ? '+' : '';
  return sign + body(p, maxFraction);
}

// "95000000" -> "₩95,000,000"; with signed: "+₩1,000" / "−₩1,000".
export function formatKRW(text, { maxFraction = MAX_FRACTION, signed = false } = {}) {
  const p = split(text);
  if (!p) return '';
  const sign = p.neg ? '−' : signed && !p.zero ? '+' : '';
  return `${sign}₩${body(p, maxFraction)}`;
}

// "1.25" -> "+1.25%" (signed) or "1.25%"; the places are kept ("0.00%").
export function formatPercent(text, { signed = false } = {}) {
  const p = split(text);
  if (!p) return '';
  const sign = p.neg ? '−' : signed && !p.zero ? '+' : '';
  return `${sign}${body(p, 4, false)}%`;
}

// Counts (BigInt or number) with digit groups.
export function formatCount(n) {
  if (n === null || n === undefined || n === '') return '';
  const s = typeof n === 'bigint' ? n.toString() : String(Math.round(Number(n)));
  return s.startsWith('-') ? `−${group(s.slice(1))}` : group(s);
}

// A per-second rate (a float metric, not a price).
export function formatRate(x) {
  if (!Number.isFinite(x)) return '';
  return x >= 100 ? formatCount(Math.round(x)) : x.toFixed(1);
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// Local wall-clock time of an epoch-milliseconds value: "14:03:27".
export function formatTime(ms, { millis = false } = {}) {
  if (!Number.isFinite(ms) || ms <= 0) return '';
  const d = new Date(ms);
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${t}.${pad(d.getMilliseconds(), 3)}` : t;
}

// "2024-05-01 14:03:27" in local time.
export function formatDateTime(ms) {
  if (!Number.isFinite(ms) || ms <= 0) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatTime(ms)}`;
}

// Short axis label for a candle open time: the date for daily candles and at local
// midnight, the time otherwise.
export function formatAxisTime(ms, intervalMs) {
  const d = new Date(ms);
  const midnight = d.getHours() === 0 && d.getMinutes() === 0;
  if (intervalMs >= 86400000 || (midnight && intervalMs >= 3600000)) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A market as typed or linked ("btc", "KRW-BTC", "BTC_KRW", "btc-krw") -> its base code "BTC".
export function baseOf(text) {
  const s = String(text || '').trim().toUpperCase();
  const m = /^KRW[-_/](.+)$/.exec(s) || /^(.+?)[-_/]KRW$/.exec(s);
  return m ? m[1] : s;
}

// "EXCHANGE_UPBIT" -> "upbit" (the DOM's data-exchange value); '' for unspecified or unknown.
export function exchangeKey(name) {
  const key = typeof name === 'string' && name.startsWith('EXCHANGE_') ? name.slice(9).toLowerCase() : '';
  return EXCHANGES.includes(key) ? key : '';
}

export function exchangeEnum(key) {
  return `EXCHANGE_${String(key).toUpperCase()}`;
}

export const EXCHANGES = Object.freeze(['upbit', 'bithumb', 'korbit']);
