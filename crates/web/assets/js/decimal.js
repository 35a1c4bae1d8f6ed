// Exact decimal arithmetic on BigInt, for prices and sizes that arrive as decimal strings.
// A value is { n: BigInt unscaled digits, s: number of fraction digits }: "95000000.50" is
// { n: 9500000050n, s: 2 }. Nothing here goes through a JS float.
//
// Rounding: div() and round() take a mode, 'half-up' (ties away from zero, the default and
// what the server's percentages use) or 'half-even' (ties to the even digit).

const POW10 = [1n];
function pow10(k) {
  while (POW10.length <= k) POW10.push(POW10[POW10.length - 1] * 10n);
  return POW10[k];
}

const RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

// Returns null for an empty or malformed string (exchanges leave optional fields empty).
export function parse(text) {
  if (text === null || text === undefined) return null;
  if (typeof text === 'object' && typeof text.n === 'bigint') return text;
  const m = RE.exec(String(text).trim());
  if (!m) return null;
  const int = m[2] || '';
  const frac = m[3] || '';
  if (!int && !frac) return null;
  let n = BigInt((m[1] === '-' ? '-' : '') + (int + frac || '0'));
  let s = frac.length;
  if (m[4]) {
    s -= Number.parseInt(m[4], 10);
    if (s < 0) {
      n *= pow10(-s);
      s = 0;
    }
  }
  return { n, s };
}

export function toString(d) {
  if (!d) return '';
  const neg = d.n < 0n;
  let digits = (neg ? -d.n : d.n).toString();
  if (d.s > 0) {
    if (digits.length <= d.s) digits = '0'.repeat(d.s - digits.length + 1) + digits;
    digits = `${digits.slice(0, digits.length - d.s)}.${digits.slice(digits.length - d.s)}`;
  }
  return neg ? `-${digits}` : digits;
}

function scaleTo(d, s) {
  return s === d.s ? d.n : d.n * pow10(s - d.s);
}

export function add(a, b) {
  const s = Math.max(a.s, b.s);
  return { n: scaleTo(a, s) + scaleTo(b, s), s };
}

// Keeps the larger scale of the two, as "158201000.00000000" - "158100000" = "101000.00000000".
export function sub(a, b) {
  const s = Math.max(a.s, b.s);
  return { n: scaleTo(a, s) - scaleTo(b, s), s };
}

export function mul(a, b) {
  return { n: a.n * b.n, s: a.s + b.s };
}

export function cmp(a, b) {
  const s = Math.max(a.s, b.s);
  const x = scaleTo(a, s);
  const y = scaleTo(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function sign(a) {
  return a.n < 0n ? -1 : a.n > 0n ? 1 : 0;
}

export function isZero(a) {
  return a.n === 0n;
}

// The same value at the smallest scale that holds it: "25000.00000000" -> "25000".
export function normalize(a) {
  let { n, s } = a;
  while (s > 0 && n % 10n === 0n) {
    n /= 10n;
    s--;
  }
  return { n, s };
}

export function neg(a) {
  return { n: -a.n, s: a.s };
}

// q = num / den rounded to an integer by mode.
function roundedQuotient(num, den, mode) {
  let q = num / den;
  const r = num % den;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  const absDen = den < 0n ? -den : den;
  const away = (num < 0n) !== (den < 0n) ? -1n : 1n;
  if (twice > absDen || (twice === absDen && (mode !== 'half-even' || q % 2n !== 0n))) q += away;
  return q;
}

// a / b with exactly `places` fraction digits. Throws on division by zero.
export function div(a, b, places, mode = 'half-up') {
  if (b.n === 0n) throw new RangeError('division by zero');
  // a.n/10^a.s / (b.n/10^b.s) * 10^places = a.n * 10^(places + b.s) / (b.n * 10^a.s)
  const num = a.n * pow10(places + b.s);
  const den = b.n * pow10(a.s);
  return { n: roundedQuotient(num, den, mode), s: places };
}

// To exactly `places` fraction digits: rounds when shorter, pads with zeros when longer.
export function round(a, places, mode = 'half-up') {
  if (a.s <= places) return { n: a.n * pow10(places - a.s), s: places };
  return { n: roundedQuotient(a.n, pow10(a.s - places), mode), s: places };
}

const HUNDRED = { n: 100n, s: 0 };

// diff / base * 100 at `places` digits; null when base is zero (no meaningful percentage).
export function percent(diff, base, places = 2, mode = 'half-up') {
  if (!diff || !base || base.n === 0n) return null;
  return div(mul(diff, HUNDRED), base, places, mode);
}

// For canvas pixels only: never shown as a price.
export function toNumber(a) {
  return Number(toString(a));
}

// a + (b - a) * k / m at `places` digits: exact evenly spaced axis labels between two prices.
export function lerp(a, b, k, m, places) {
  const step = div(mul(sub(b, a), { n: BigInt(k), s: 0 }), { n: BigInt(m), s: 0 }, places);
  return add(round(a, places), step);
}
