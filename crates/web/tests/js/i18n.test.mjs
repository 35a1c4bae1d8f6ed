// Labels, language choice, market spellings and the reconnect backoff.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DICT, detectLang, setLang, getLang, t } from '../../assets/js/i18n.js';
import { baseOf, exchangeKey, exchangeEnum } from '../../assets/js/format.js';
import { backoffDelay } from '../../assets/js/conn.js';

test('both languages define the same labels, Korean ones in Korean', () => {
  assert.deepEqual(Object.keys(DICT.ko).sort(), Object.keys(DICT.en).sort());
  for (const key of ['nav.board', 'col.exchange', 'col.last', 'col.change', 'col.spread', 'col.high', 'col.low',
    'market.trades', 'market.book', 'market.candles', 'nav.subs', 'subs.add', 'subs.remove', 'conn.live',
    'conn.disconnected', 'nav.feeds']) {
    assert.match(DICT.ko[key], /[\uac00-\ud7a3]/, `${key} has Hangul`);
  }
  assert.equal(DICT.ko['nav.board'], '시세판');
  assert.equal(DICT.ko['col.change'], '24시간 변동');
  assert.equal(DICT.ko['conn.disconnected'], '연결 끊김');
});

test('language: stored choice, else the browser language', () => {
  assert.equal(detectLang('en', 'ko-KR'), 'en');
  assert.equal(detectLang(null, 'ko-KR'), 'ko');
  assert.equal(detectLang(null, 'en-US'), 'en');
  assert.equal(detectLang('fr', 'ko'), 'ko');
  setLang('ko');
  assert.equal(getLang(), 'ko');
  assert.equal(t('banner.retry', { n: 3 }), '연결 끊김 — 3초 후 다시 연결');
  setLang('en');
  assert.equal(t('banner.retry', { n: 3 }), 'Disconnected — reconnecting in 3 s');
  assert.equal(t('FEED_STATE_BACKING_OFF'), 'Backing off');
  assert.equal(t('no.such.key'), 'no.such.key');
});

test('market spellings and exchange names map to the DOM values', () => {
  for (const s of ['btc', 'KRW-BTC', 'btc_krw', 'BTC/KRW', 'BTC']) assert.equal(baseOf(s), 'BTC');
  assert.equal(exchangeKey('EXCHANGE_KORBIT'), 'korbit');
  assert.equal(exchangeKey('EXCHANGE_UNSPECIFIED'), '');
  assert.equal(exchangeKey('EXCHANGE_COINONE'), '');
  assert.equal(exchangeEnum('bithumb'), 'EXCHANGE_BITHUMB');
});

test('reconnect backoff: 0.5 s doubling to 5 s, jittered by at most 20 %', () => {
  const mid = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, mid)), [500, 1000, 2000, 4000, 5000, 5000]);
  assert.equal(backoffDelay(0, () => 0), 400);
  assert.equal(backoffDelay(0, () => 1), 600);
  assert.equal(backoffDelay(10, () => 1), 5000);
});
