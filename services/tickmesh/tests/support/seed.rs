//! A day of ADA/KRW history written straight into a SQLite database: a market the simulators
//! do not trade, so what the client commands read of it holds still while `up` runs.

use sea_orm::{ConnectionTrait as _, DatabaseConnection};

/// 2025-01-01T00:00:00Z in microseconds: the seeded day.
pub const DAY: i64 = 1_735_689_600_000_000;

/// Seeds ADA/KRW on 2025-01-01:
///
/// * Upbit: 86,400 trades, one a second (ids from 1,000,000, prices `1000.0`, `1001.1`, ...
///   with one place, sizes with eight), 1,440 one-minute candles, a ticker a minute (last
///   1050, no bid or ask), and one order book (bid 1049.5, ask 1050.5) at 23:53:20;
/// * Bithumb: 1,440 one-minute candles;
/// * Korbit: one ticker at 23:59:59 (last 1200.5, bid 1200, ask 1201).
pub async fn seed_a_day_of_ada(db: &DatabaseConnection) {
    for exchange in ["upbit", "bithumb", "korbit"] {
        exec(
            db,
            &format!("insert into markets (exchange, market) values ('{exchange}', 'ADA/KRW')"),
        )
        .await;
    }
    let id = |exchange: &str| {
        format!("(select id from markets where exchange = '{exchange}' and market = 'ADA/KRW')")
    };
    exec(
        db,
        &format!(
            "with recursive s(i) as (select 0 union all select i + 1 from s where i < 86399)
             insert into trades (market_id, trade_id, price, size, side, exchange_time_us,
                 received_time_us)
             select {upbit}, 1000000 + i, (1000 + i % 97) || '.' || (i % 10),
                 printf('%d.%08d', i % 3, (i * 7919) % 100000000),
                 case when i % 2 = 0 then 'buy' else 'sell' end,
                 {DAY} + i * 1000000, {DAY} + i * 1000000 + 150000 from s",
            upbit = id("upbit")
        ),
    )
    .await;
    for (exchange, base, modulo) in [("upbit", 1000, 50), ("bithumb", 1005, 40)] {
        exec(
            db,
            &format!(
                "with recursive m(i) as (select 0 union all select i + 1 from m where i < 1439)
                 insert into candles_1m (market_id, open_time_us, open, high, low, close, volume,
                     quote_volume, trade_count, first_trade_time_us, first_trade_id,
                     last_trade_time_us, last_trade_id)
                 select {market}, {DAY} + i * 60000000, {base}, {base} + 10, {base} - 10,
                     ({base} + i % {modulo}) || '.5', '2.00000000', '2000', 60,
                     {DAY} + i * 60000000, i, {DAY} + i * 60000000 + 59000000, i + 59 from m",
                market = id(exchange)
            ),
        )
        .await;
    }
    exec(
        db,
        &format!(
            "with recursive m(i) as (select 0 union all select i + 1 from m where i < 1439)
             insert into tickers (market_id, exchange_time_us, received_time_us, last, open,
                 high, low, prev_close, volume_24h, quote_volume_24h, best_bid, best_ask)
             select {upbit}, {DAY} + i * 60000000, {DAY} + i * 60000000 + 1000, '1050', '1000',
                 '1100', '990', '1000', '123.45', '129622.5', null, null from m",
            upbit = id("upbit")
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "insert into tickers (market_id, exchange_time_us, received_time_us, last, volume_24h,
                 best_bid, best_ask)
             values ({korbit}, {t}, {t} + 1000, '1200.5', '10', '1200', '1201')",
            korbit = id("korbit"),
            t = DAY + 86_399_000_000
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "insert into orderbook_snapshots (market_id, exchange_time_us, received_time_us, bids,
                 asks)
             values ({upbit}, {t}, {t} + 1000, '[[\"1049.5\",\"10\"],[\"1049\",\"5\"]]',
                 '[[\"1050.5\",\"3\"]]')",
            upbit = id("upbit"),
            t = DAY + 86_000_000_000
        ),
    )
    .await;
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}
