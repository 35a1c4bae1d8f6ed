//! The statements that fill one chunk of time of one table, on the server side.
//!
//! Each is an `INSERT ... SELECT` over the pairs (a `VALUES` list) and a `generate_series` of
//! their event times in the chunk, in the column order and types the migrations make. Prices
//! come from a smooth walk in `float8`, rounded to the pair's decimal places as `NUMERIC`:
//! what is stored is an exact decimal of a realistic scale, and every sum, volume and quote
//! derived from it is `NUMERIC` arithmetic, exact as storage's own.

use super::shape::{MINUTE_US, Pair, Series};

/// The pairs as a `FROM` item `p(id, k, x, base, scale)`.
fn pairs(pairs: &[Pair]) -> String {
    let rows: Vec<String> = pairs
        .iter()
        .map(|p| {
            format!(
                "({}, {}, {}, {:.1}::float8, {})",
                p.id, p.k, p.x, p.base, p.scale
            )
        })
        .collect();
    format!("(VALUES {}) AS p(id, k, x, base, scale)", rows.join(", "))
}

/// The pair's price at time `t` (an SQL expression in µs): a walk of about ±9 % over days and
/// ±1 % over hours, each exchange 0.1 % apart from the previous one so spreads are not zero.
fn price(t: &str) -> String {
    format!(
        "round((p.base * (1.0 + 0.08 * sin({t}::float8 / 3.0e11 + p.k) \
         + 0.01 * sin({t}::float8 / 7.0e8 + 2 * p.k)) * (1.0 + 0.001 * p.x))::numeric, p.scale)"
    )
}

/// The smallest price step of the pair, with its scale (`1`, `0.1`, `0.01`).
const TICK: &str = "round(0.1::numeric ^ p.scale, p.scale)";

/// The event times of `series` for each pair in `[c0, c1)`, as `g(t, i)`: `i` counts the
/// pair's events from the series' start, and the first time is the first on the pair's grid
/// at or after `c0`.
fn times(series: Series, c0: i64, c1: i64) -> String {
    let Series { from, step, .. } = series;
    // The same offset as `Series::offset`, which the expected counts use.
    let offset = if series.staggered {
        format!("(p.k * 7919) % {step}")
    } else {
        "0".to_owned()
    };
    format!(
        "CROSS JOIN LATERAL (SELECT {from} + {offset} AS o) AS o \
         CROSS JOIN LATERAL generate_series(o.o + greatest(0, ({c0} - o.o + {step} - 1) / {step}) \
         * {step}, {c1} - 1, {step}::bigint) AS g0(t) \
         CROSS JOIN LATERAL (SELECT g0.t AS t, (g0.t - o.o) / {step} AS i) AS g"
    )
}

/// One-minute candles opening in `[c0, c1)` (minute-aligned).
pub(crate) fn candles(all: &[Pair], c0: i64, c1: i64) -> String {
    let series = Series {
        from: c0,
        to: c1,
        step: MINUTE_US,
        staggered: false,
    };
    format!(
        "INSERT INTO candles_1m (market_id, open_time_us, open, high, low, close, volume, \
         quote_volume, trade_count, first_trade_time_us, first_trade_id, last_trade_time_us, \
         last_trade_id) \
         SELECT p.id, g.t, c.o, greatest(c.o, c.c) + c.tick * (c.h % 5), \
         least(c.o, c.c) - c.tick * (c.h % 3), c.c, c.v, c.v * c.c, 1 + c.h % 40, \
         g.t + (c.h % 1000) * 1000, g.t / 1000, g.t + 59000000 - (c.h % 500) * 1000, \
         g.t / 1000 + c.h % 40 \
         FROM {pairs} {times} \
         CROSS JOIN LATERAL (SELECT {open} AS o, {close} AS c, {TICK} AS tick, \
         (g.t / 60000000 * 48271 + p.k * 7919) % 1000003 AS h, \
         (((g.t / 60000000 * 16807 + p.k) % 50000000) + 1)::numeric * 0.00000001 AS v) AS c",
        pairs = pairs(all),
        times = times(series, c0, c1),
        open = price("g.t"),
        close = price("(g.t + 59000000)"),
    )
}

/// Trades of `series` in `[c0, c1)`: ids counting up per pair, sizes to 8 places, the side
/// from a hash (`b` or `s`, the one-byte `"char"` of migration 11), received 20 to 70 ms after
/// the exchange time, and a stream position.
pub(crate) fn trades(all: &[Pair], series: Series, c0: i64, c1: i64) -> String {
    format!(
        "INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us, \
         received_time_us, position) \
         SELECT p.id, 1000000 + g.i, {price}, \
         (((g.i * 48271 + p.k * 7) % 99999989) + 1)::numeric * 0.00000001, \
         CASE WHEN (g.i * 2654435761 / 128) % 2 = 0 THEN 'b' ELSE 's' END, \
         g.t, g.t + 20000 + (g.i % 50) * 1000, \
         ((g.t + 20000 + (g.i % 50) * 1000) / 1000) * 1000000 + p.k \
         FROM {pairs} {times}",
        pairs = pairs(all),
        times = times(series, c0, c1),
        price = price("g.t"),
    )
}

/// Tickers of `series` in `[c0, c1)`. Korbit's carry a best bid and ask; Upbit's and
/// Bithumb's do not, as on the exchanges, so the latest-ticker call reads their books.
pub(crate) fn tickers(all: &[Pair], series: Series, c0: i64, c1: i64) -> String {
    format!(
        "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last, open, high, \
         low, prev_close, volume_24h, quote_volume_24h, best_bid, best_ask, position) \
         SELECT p.id, g.t, g.t + 20000, c.l, c.o, greatest(c.l, c.o) + c.tick * (g.i % 7), \
         least(c.l, c.o) - c.tick * (g.i % 5), c.o, c.v, c.v * c.l, \
         CASE WHEN p.x = 2 THEN c.l - c.tick END, CASE WHEN p.x = 2 THEN c.l + c.tick END, \
         ((g.t + 20000) / 1000) * 1000000 + 500 + p.k \
         FROM {pairs} {times} \
         CROSS JOIN LATERAL (SELECT {last} AS l, {open} AS o, {TICK} AS tick, \
         (((g.i * 48271 + p.k) % 900000000000) + 1)::numeric * 0.00000001 AS v) AS c",
        pairs = pairs(all),
        times = times(series, c0, c1),
        last = price("g.t"),
        open = price("(g.t - 86400000000)"),
    )
}

/// Order books of `series` in `[c0, c1)`: five levels a side around the price, in the JSON
/// storage writes (`[["price","size"],...]`).
pub(crate) fn books(all: &[Pair], series: Series, c0: i64, c1: i64) -> String {
    let side = |sign: &str| {
        format!(
            "(SELECT '[' || string_agg(format('[\"%s\",\"%s\"]', c.m {sign} c.tick * j, \
             ((j * 7 + g.i % 13) + 1)::numeric * 0.0001), ',' ORDER BY j) || ']' \
             FROM generate_series(1, 5) AS j)"
        )
    };
    format!(
        "INSERT INTO orderbook_snapshots (market_id, exchange_time_us, received_time_us, bids, \
         asks) \
         SELECT p.id, g.t, g.t + 20000, {bids}, {asks} \
         FROM {pairs} {times} \
         CROSS JOIN LATERAL (SELECT {mid} AS m, {TICK} AS tick) AS c",
        pairs = pairs(all),
        times = times(series, c0, c1),
        mid = price("g.t"),
        bids = side("-"),
        asks = side("+"),
    )
}
