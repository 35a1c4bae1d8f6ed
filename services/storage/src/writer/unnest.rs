//! PostgreSQL inserts of a whole batch as column arrays:
//! `INSERT ... SELECT ... FROM unnest($1, $2, ...)`.
//!
//! A multi-row `VALUES` list of 1,000 trades is 8,000 bind parameters: sea-query renders each
//! placeholder, sqlx binds each value, and PostgreSQL parses and plans a statement whose text
//! changes with the row count, so no plan is ever reused. Column arrays make one short
//! statement with one parameter per column whatever the batch size. Decimals travel as text
//! and are cast to `numeric` in the statement, which keeps their scale (see
//! [`crate::decimal`]); an optional decimal travels as `''` for "absent", which `NULLIF` turns
//! into `NULL` (sea-query's arrays cannot hold `NULL` elements, and no decimal's text is
//! empty).

use std::collections::HashSet;

use sea_orm::sea_query::{ArrayType, Value};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tickmesh_domain::Decimal;

use super::insert::{TickerRef, TradeRef, side_text, trade_id};
use crate::StorageError;

const INSERT_TRADES: &str = r#"INSERT INTO "trades"
  ("exchange", "market", "trade_id", "price", "size", "side", "exchange_time_us", "received_time_us")
SELECT exchange, market, trade_id, price::numeric, size::numeric, side, exchange_time_us, received_time_us
FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[])
  AS t(exchange, market, trade_id, price, size, side, exchange_time_us, received_time_us)
ON CONFLICT ("exchange", "market", "trade_id") DO NOTHING
RETURNING "exchange", "market", "trade_id""#;

const INSERT_TICKERS: &str = r#"INSERT INTO "tickers"
  ("exchange", "market", "exchange_time_us", "received_time_us", "last", "open", "high", "low",
   "prev_close", "volume_24h", "quote_volume_24h", "best_bid", "best_ask")
SELECT exchange, market, exchange_time_us, received_time_us, last::numeric,
  NULLIF(open, '')::numeric, NULLIF(high, '')::numeric, NULLIF(low, '')::numeric,
  NULLIF(prev_close, '')::numeric, NULLIF(volume_24h, '')::numeric,
  NULLIF(quote_volume_24h, '')::numeric, NULLIF(best_bid, '')::numeric,
  NULLIF(best_ask, '')::numeric
FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[],
  $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
  AS t(exchange, market, exchange_time_us, received_time_us, last, open, high, low, prev_close,
    volume_24h, quote_volume_24h, best_bid, best_ask)
ON CONFLICT ("exchange", "market", "exchange_time_us") DO NOTHING"#;

/// A text array element.
fn text(value: impl Into<String>) -> Value {
    Value::String(Some(Box::new(value.into())))
}

/// A `bigint` array element.
fn int8(value: i64) -> Value {
    Value::BigInt(Some(value))
}

/// A decimal array element: its exact text, or `''` when absent.
fn decimal(value: Option<Decimal>) -> Value {
    text(
        value
            .map(tickmesh_domain::format_decimal)
            .unwrap_or_default(),
    )
}

/// A column of text elements as one array parameter.
fn text_array(values: Vec<Value>) -> Value {
    Value::Array(ArrayType::String, Some(Box::new(values)))
}

/// A column of `bigint` elements as one array parameter.
fn int8_array(values: Vec<Value>) -> Value {
    Value::Array(ArrayType::BigInt, Some(Box::new(values)))
}

/// A column being filled, one element per row.
fn column(rows: usize) -> Vec<Value> {
    Vec::with_capacity(rows)
}

/// Inserts the (distinct) trades of `unique`; returns the keys that were new.
pub(super) async fn trades<C: ConnectionTrait>(
    db: &C,
    unique: &[TradeRef<'_>],
) -> Result<HashSet<(String, String, i64)>, StorageError> {
    let n = unique.len();
    let (mut exchange, mut market, mut id) = (column(n), column(n), column(n));
    let (mut price, mut size, mut side) = (column(n), column(n), column(n));
    let (mut exchange_time, mut received_time) = (column(n), column(n));
    for (event, trade) in unique {
        exchange.push(text(event.exchange.as_str()));
        market.push(text(event.market.to_string()));
        id.push(int8(trade_id(
            event.exchange,
            event.market,
            trade.trade_id,
        )?));
        price.push(decimal(Some(trade.price)));
        size.push(decimal(Some(trade.size)));
        side.push(text(side_text(trade.side)));
        exchange_time.push(int8(event.exchange_time.as_micros()));
        received_time.push(int8(event.received_time.as_micros()));
    }
    let values = [
        text_array(exchange),
        text_array(market),
        int8_array(id),
        text_array(price),
        text_array(size),
        text_array(side),
        int8_array(exchange_time),
        int8_array(received_time),
    ];
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, INSERT_TRADES, values);
    let mut inserted = HashSet::with_capacity(n);
    for row in db.query_all(statement).await? {
        let exchange: String = row.try_get("", "exchange")?;
        let market: String = row.try_get("", "market")?;
        let id: i64 = row.try_get("", "trade_id")?;
        inserted.insert((exchange, market, id));
    }
    Ok(inserted)
}

/// Inserts ticker updates, skipping those already stored; returns how many were stored.
pub(super) async fn tickers<C: ConnectionTrait>(
    db: &C,
    batch: &[TickerRef<'_>],
) -> Result<u64, StorageError> {
    let n = batch.len();
    let (mut exchange, mut market) = (column(n), column(n));
    let (mut exchange_time, mut received_time) = (column(n), column(n));
    // last, open, high, low, prev_close, volume_24h, quote_volume_24h, best_bid, best_ask
    let mut decimals: [Vec<Value>; 9] = std::array::from_fn(|_| column(n));
    for (event, t) in batch {
        exchange.push(text(event.exchange.as_str()));
        market.push(text(event.market.to_string()));
        exchange_time.push(int8(event.exchange_time.as_micros()));
        received_time.push(int8(event.received_time.as_micros()));
        let row = [
            Some(t.last),
            t.open,
            t.high,
            t.low,
            t.prev_close,
            t.volume_24h,
            t.quote_volume_24h,
            t.best_bid,
            t.best_ask,
        ];
        for (column, value) in decimals.iter_mut().zip(row) {
            column.push(decimal(value));
        }
    }
    let mut values = vec![
        text_array(exchange),
        text_array(market),
        int8_array(exchange_time),
        int8_array(received_time),
    ];
    values.extend(decimals.into_iter().map(text_array));
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, INSERT_TICKERS, values);
    Ok(db.execute(statement).await?.rows_affected())
}
