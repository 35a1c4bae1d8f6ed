// Exact decimal arithmetic and display formatting of prices.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as D from '../../assets/js/decimal.js';
import { formatKRW, formatNumber, formatPercent, formatCount } from '../../assets/js/format.js';

const s = (d) => D.toString(d);
const p = D.parse;

test('parse and print keep every digit and the scale', () => {
  assert.equal(s(p('95000000')), '95000000');
  assert.equal(s(p('0.00012345')), '0.00012345');
  assert.equal(s(p('-0.5')), '-0.5');
  assert.equal(s(p('158201000.00000000')), '158201000.00000000');
  assert.equal(s(p('1234567890123456789012.345678')), '1234567890123456789012.345678');
  assert.equal(s(p('1.5e3')), '1500');
  assert.equal(s(p('.5')), '0.5');
  assert.equal(p(''), null);
  assert.equal(p('abc'), null);
  assert.equal(p('1.2.3'), null);
});

test('subtract keeps the larger scale, like the server', () => {
  assert.equal(s(D.sub(p('158201000.00000000'), p('158100000'))), '101000.00000000');
  assert.equal(s(D.sub(p('0.1'), p('0.3'))), '-0.2'); // a float would give -0.19999999999999998
  assert.equal(s(D.add(p('0.1'), p('0.2'))), '0.3');
  assert.equal(D.cmp(p('10'), p('9.99999999')), 1);
  assert.equal(D.cmp(p('1.50'), p('1.5')), 0);
  assert.equal(D.cmp(p('-2'), p('1')), -1);
});

test('division rounds half-up (away from zero) or half-even as asked', () => {
  assert.equal(s(D.div(p('1'), p('3'), 4)), '0.3333');
  assert.equal(s(D.div(p('2'), p('3'), 2)), '0.67');
  assert.equal(s(D.div(p('1'), p('8'), 2)), '0.13'); // 0.125 -> half-up
  assert.equal(s(D.div(p('1'), p('8'), 2, 'half-even')), '0.12');
  assert.equal(s(D.div(p('3'), p('8'), 2, 'half-even')), '0.38');
  assert.equal(s(D.div(p('-1'), p('8'), 2)), '-0.13');
  assert.throws(() => D.div(p('1'), p('0'), 2), RangeError);
  assert.equal(s(D.round(p('2.5'), 0, 'half-even')), '2');
  assert.equal(s(D.round(p('2.5'), 0)), '3');
  assert.equal(s(D.round(p('2'), 3)), '2.000');
});

test('percentages match the server examples at its scale and ours', () => {
  // services/storage history percent(): 4 places, midpoint away from zero.
  assert.equal(s(D.percent(p('101000.00000000'), p('158100000'), 4)), '0.0639');
  assert.equal(s(D.percent(p('-1'), p('80'), 4)), '-1.2500');
  assert.equal(s(D.percent(p('0.000001'), p('2'), 4)), '0.0001');
  // The page shows two places.
  assert.equal(s(D.percent(p('101000'), p('158100000'))), '0.06');
  assert.equal(s(D.percent(p('1500000'), p('95000000'))), '1.58');
  assert.equal(D.percent(p('1'), p('0')), null);
});

test('normalize drops trailing fraction zeros only', () => {
  assert.equal(s(D.normalize(p('25000.00000000'))), '25000');
  assert.equal(s(D.normalize(p('0.5010'))), '0.501');
  assert.equal(s(D.normalize(p('1000'))), '1000');
});

test('exact lerp gives axis labels between two prices', () => {
  assert.equal(s(D.lerp(p('100'), p('200'), 1, 4, 0)), '125');
  assert.equal(s(D.lerp(p('0.001'), p('0.002'), 1, 3, 6)), '0.001333');
});

test('KRW formatting groups the integer part and keeps the fraction', () => {
  assert.equal(formatKRW('95000000'), '₩95,000,000');
  assert.equal(formatKRW('0.5012'), '₩0.5012');
  assert.equal(formatKRW('1234.50'), '₩1,234.50');
  assert.equal(formatKRW('-1500', { signed: true }), '−₩1,500');
  assert.equal(formatKRW('1500', { signed: true }), '+₩1,500');
  assert.equal(formatKRW('0', { signed: true }), '₩0');
  assert.equal(formatKRW('0.000000000012345'), '₩0'); // display cap at 8 digits, all zeros
  assert.equal(formatKRW('0.123456789'), '₩0.12345678');
  assert.equal(formatKRW('116467000.00000000'), '₩116,467,000'); // an all-zero fraction is not shown
  assert.equal(formatKRW('0.50'), '₩0.50');
  assert.equal(formatKRW(''), '');
  assert.equal(formatNumber('12345.678'), '12,345.678');
  assert.equal(formatPercent('1.58', { signed: true }), '+1.58%');
  assert.equal(formatPercent('-0.06', { signed: true }), '−0.06%');
  assert.equal(formatPercent('-0.00', { signed: true }), '0.00%');
  assert.equal(formatCount(1234567n), '1,234,567');
  assert.equal(formatCount(999), '999');
});
