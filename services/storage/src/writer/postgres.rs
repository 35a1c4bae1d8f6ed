//! PostgreSQL: a whole batch in one statement ([`write`], the SQL in `postgres/batch.sql`).
//!
//! Trades, their one-minute candles, tickers and order books go in through data-modifying
//! CTEs of a single statement, which PostgreSQL runs in one implicit transaction. On a busy
//! machine every round trip is a wait for the database to be scheduled and then for storage
//! to be; the transaction this replaces took eight (BEGIN, trades, candle locks, candle read,
//! candle write, tickers, books, COMMIT). The candle merge moves into the upsert's
//! `ON CONFLICT DO UPDATE`, which runs under the candle's row lock, so concurrent writers need
//! no advisory locks. PostgreSQL's `numeric` compares by value, unlike SQLite's text decimals,
//! which is why the SQLite path still merges in Rust.
//!
//! Rows travel as column arrays (`unnest($1, $2, ...)`): one short statement whose text never
//! changes, so sqlx prepares it once per connection, where a multi-row `VALUES` list would be
//! a new statement with thousands of parameters for every batch size. Decimals travel as
//! their exact text and are cast to `numeric` in the statement, which keeps their scale (see
//! [`crate::decimal`]); an optional decimal travels as `''` for "absent", which `NULLIF` turns
//! into `NULL` (sea-query's arrays cannot hold `NULL` elements, and no decimal's text is
//! empty). A stream position travels the same way as `-1` for "absent", which no packed
//! position is.

use sea_orm::sea_query::{ArrayType, Value};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use tickmesh_domain::Decimal;

use super::market_ids::MarketIds;
use super::rows::{BookRef, TickerRef, TradeRef, Written, side_text, trade_id};
use crate::StorageError;
use crate::entity::orderbook_snapshots;

const WRITE_BATCH: &str = include_str!("postgres/batch.sql");

/// A text array element.
fn text(value: impl Into<String>) -> Value {
    Value::String(Some(Box::new(value.into())))
}

/// An `integer` array element.
fn int4(value: i32) -> Value {
    Value::Int(Some(value))
}

/// A `bigint` array element.
fn int8(value: i64) -> Value {
    Value::BigInt(Some(value))
}

/// What an absent stream position travels as: packed positions are never negative.
const NO_POSITION: i64 = -1;

/// A stream position array element: the packed position, or [`NO_POSITION`].
fn position(value: Option<i64>) -> Value {
    int8(value.unwrap_or(NO_POSITION))
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

/// A column of `integer` elements as one array parameter.
fn int4_array(values: Vec<Value>) -> Value {
    Value::Array(ArrayType::Int, Some(Box::new(values)))
}

/// A column of `bigint` elements as one array parameter.
fn int8_array(values: Vec<Value>) -> Value {
    Value::Array(ArrayType::BigInt, Some(Box::new(values)))
}

/// A column being filled, one element per row.
fn column(rows: usize) -> Vec<Value> {
    Vec::with_capacity(rows)
}

/// Writes the (distinct) trades of `unique`, the candles of those that were new, `tickers`
/// and `books` in one statement; nothing is written when it fails.
pub(super) async fn write<C: ConnectionTrait>(
    db: &C,
    ids: &MarketIds,
    unique: &[TradeRef<'_>],
    tickers: &[TickerRef<'_>],
    books: &[BookRef<'_>],
) -> Result<Written, StorageError> {
    if unique.is_empty() && tickers.is_empty() && books.is_empty() {
        // Every book throttled: nothing to send.
        return Ok(Written {
            trades_inserted: 0,
            candles_touched: 0,
            tickers: 0,
            orderbooks: 0,
        });
    }
    let mut values = trade_columns(ids, unique)?;
    values.extend(ticker_columns(ids, tickers)?);
    values.extend(book_columns(ids, books)?);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, WRITE_BATCH, values);
    let row = db
        .query_one(statement)
        .await?
        .ok_or_else(|| StorageError::Db(DbErr::Custom("batch insert returned no row".into())))?;
    let count = |column: &str| -> Result<usize, StorageError> {
        let n: i64 = row.try_get("", column)?;
        Ok(usize::try_from(n).unwrap_or(0))
    };
    Ok(Written {
        trades_inserted: count("trades_inserted")?,
        candles_touched: count("candles_touched")?,
        tickers: count("tickers_stored")?,
        orderbooks: count("orderbooks_stored")?,
    })
}

/// Parameters `$1` to `$8`: the trades' columns.
fn trade_columns(ids: &MarketIds, unique: &[TradeRef<'_>]) -> Result<Vec<Value>, StorageError> {
    let n = unique.len();
    let (mut market, mut id) = (column(n), column(n));
    let (mut price, mut size, mut side) = (column(n), column(n), column(n));
    let (mut exchange_time, mut received_time) = (column(n), column(n));
    let mut positions = column(n);
    for &(event, trade, at) in unique {
        market.push(int4(ids.id(event.exchange, event.market)?));
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
        positions.push(position(at));
    }
    Ok(vec![
        int4_array(market),
        int8_array(id),
        text_array(price),
        text_array(size),
        text_array(side),
        int8_array(exchange_time),
        int8_array(received_time),
        int8_array(positions),
    ])
}

/// Parameters `$9` to `$21`: the tickers' columns.
fn ticker_columns(ids: &MarketIds, batch: &[TickerRef<'_>]) -> Result<Vec<Value>, StorageError> {
    let n = batch.len();
    let mut market = column(n);
    let (mut exchange_time, mut received_time) = (column(n), column(n));
    // last, open, high, low, prev_close, volume_24h, quote_volume_24h, best_bid, best_ask
    let mut decimals: [Vec<Value>; 9] = std::array::from_fn(|_| column(n));
    let mut positions = column(n);
    for &(event, t, at) in batch {
        market.push(int4(ids.id(event.exchange, event.market)?));
        exchange_time.push(int8(event.exchange_time.as_micros()));
        received_time.push(int8(event.received_time.as_micros()));
        for (column, value) in decimals.iter_mut().zip(t.decimals()) {
            column.push(decimal(value));
        }
        positions.push(position(at));
    }
    let mut values = vec![
        int4_array(market),
        int8_array(exchange_time),
        int8_array(received_time),
    ];
    values.extend(decimals.into_iter().map(text_array));
    values.push(int8_array(positions));
    Ok(values)
}

/// Parameters `$22` to `$26`: the order books' columns, levels as JSON text.
fn book_columns(ids: &MarketIds, batch: &[BookRef<'_>]) -> Result<Vec<Value>, StorageError> {
    let n = batch.len();
    let mut market = column(n);
    let (mut exchange_time, mut received_time) = (column(n), column(n));
    let (mut bids, mut asks) = (column(n), column(n));
    for (event, book) in batch {
        market.push(int4(ids.id(event.exchange, event.market)?));
        exchange_time.push(int8(event.exchange_time.as_micros()));
        received_time.push(int8(event.received_time.as_micros()));
        bids.push(text(orderbook_snapshots::levels_to_json(&book.bids)));
        asks.push(text(orderbook_snapshots::levels_to_json(&book.asks)));
    }
    Ok(vec![
        int4_array(market),
        int8_array(exchange_time),
        int8_array(received_time),
        text_array(bids),
        text_array(asks),
    ])
}
