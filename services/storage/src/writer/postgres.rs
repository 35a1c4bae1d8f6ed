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
//! changes, where a multi-row `VALUES` list would be a new statement with thousands of
//! parameters for every batch size. The arrays are bound through sqlx directly, as typed
//! slices (`int4[]`, `int8[]`, `text[]`): sea-query's `Value` arrays boxed every element and
//! were cloned again on the way to sqlx, a visible share of storage's CPU per event
//! (docs/benchmarks.md). Decimals travel as their exact text and are cast to `numeric` in the
//! statement, which keeps their scale (see [`crate::decimal`]); a column's texts are written
//! one after another into one buffer ([`Texts`]), not allocated one by one. An optional
//! decimal travels as `''` for "absent", which `NULLIF` turns into `NULL` (no decimal's text
//! is empty). A stream position travels the same way as `-1` for "absent", which no packed
//! position is.

use sea_orm::sqlx::postgres::{PgArguments, PgPool};
use sea_orm::sqlx::query::Query;
use sea_orm::sqlx::{self, Postgres, Row as _};
use sea_orm::{DbErr, RuntimeErr};
use tickmesh_domain::Decimal;

use super::market_ids::MarketIds;
use super::rows::{BookRef, TickerRef, TradeRef, Written, side_text, trade_id};
use crate::StorageError;
use crate::entity::orderbook_snapshots;

const WRITE_BATCH: &str = include_str!("postgres/batch.sql");

/// What an absent stream position travels as: packed positions are never negative.
const NO_POSITION: i64 = -1;

/// A column of texts in one buffer: element `i` is `buf[ends[i - 1]..ends[i]]`.
#[derive(Debug, Default)]
struct Texts {
    buf: String,
    ends: Vec<usize>,
}

impl Texts {
    /// Room for `rows` texts of about `each` bytes.
    fn with_capacity(rows: usize, each: usize) -> Texts {
        Texts {
            buf: String::with_capacity(rows * each),
            ends: Vec::with_capacity(rows),
        }
    }

    /// Appends `value`'s exact text, or `''` when absent.
    fn decimal(&mut self, value: Option<Decimal>) {
        if let Some(value) = value {
            tickmesh_domain::write_decimal(value, &mut self.buf);
        }
        self.ends.push(self.buf.len());
    }

    /// Appends `text`.
    fn text(&mut self, text: &str) {
        self.buf.push_str(text);
        self.ends.push(self.buf.len());
    }

    /// The texts, as the `text[]` parameter binds them.
    fn slices(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                // `ends` only grows and every end is a char boundary the pushes made.
                let text = self.buf.get(start..end).unwrap_or_default();
                start = end;
                text
            })
            .collect()
    }
}

/// The trades' columns, parameters `$1` to `$8`.
#[derive(Debug, Default)]
struct TradeColumns {
    market: Vec<i32>,
    id: Vec<i64>,
    price: Texts,
    size: Texts,
    side: Texts,
    exchange_time: Vec<i64>,
    received_time: Vec<i64>,
    position: Vec<i64>,
}

/// The tickers' columns, parameters `$9` to `$21`.
#[derive(Debug, Default)]
struct TickerColumns {
    market: Vec<i32>,
    exchange_time: Vec<i64>,
    received_time: Vec<i64>,
    /// last, open, high, low, prev_close, volume_24h, quote_volume_24h, best_bid, best_ask
    decimals: [Texts; 9],
    position: Vec<i64>,
}

/// The order books' columns, parameters `$22` to `$26`, levels as JSON text.
#[derive(Debug, Default)]
struct BookColumns {
    market: Vec<i32>,
    exchange_time: Vec<i64>,
    received_time: Vec<i64>,
    bids: Vec<String>,
    asks: Vec<String>,
}

/// Writes the (distinct) trades of `unique`, the candles of those that were new, `tickers`
/// and `books` in one statement; nothing is written when it fails.
pub(super) async fn write(
    pool: &PgPool,
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
    let trades = trade_columns(ids, unique)?;
    let tickers = ticker_columns(ids, tickers)?;
    let books = book_columns(ids, books)?;
    let query = bind_books(
        bind_tickers(bind_trades(sqlx::query(WRITE_BATCH), &trades), &tickers),
        &books,
    );
    let row = query.fetch_one(pool).await.map_err(query_error)?;
    let count = |column: &str| -> Result<usize, StorageError> {
        let n: i64 = row.try_get(column).map_err(query_error)?;
        Ok(usize::try_from(n).unwrap_or(0))
    };
    Ok(Written {
        trades_inserted: count("trades_inserted")?,
        candles_touched: count("candles_touched")?,
        tickers: count("tickers_stored")?,
        orderbooks: count("orderbooks_stored")?,
    })
}

/// A failed statement as sea-orm reports one, so callers classify it the same way
/// ([`crate::error::refuses_data`], a missing partition).
fn query_error(e: sqlx::Error) -> StorageError {
    StorageError::Db(DbErr::Query(RuntimeErr::SqlxError(e)))
}

type Bound<'q> = Query<'q, Postgres, PgArguments>;

fn bind_trades<'q>(query: Bound<'q>, c: &'q TradeColumns) -> Bound<'q> {
    query
        .bind(&c.market)
        .bind(&c.id)
        .bind(c.price.slices())
        .bind(c.size.slices())
        .bind(c.side.slices())
        .bind(&c.exchange_time)
        .bind(&c.received_time)
        .bind(&c.position)
}

fn bind_tickers<'q>(query: Bound<'q>, c: &'q TickerColumns) -> Bound<'q> {
    let query = query
        .bind(&c.market)
        .bind(&c.exchange_time)
        .bind(&c.received_time);
    c.decimals
        .iter()
        .fold(query, |query, column| query.bind(column.slices()))
        .bind(&c.position)
}

fn bind_books<'q>(query: Bound<'q>, c: &'q BookColumns) -> Bound<'q> {
    query
        .bind(&c.market)
        .bind(&c.exchange_time)
        .bind(&c.received_time)
        .bind(&c.bids)
        .bind(&c.asks)
}

/// The trades' columns.
fn trade_columns(ids: &MarketIds, unique: &[TradeRef<'_>]) -> Result<TradeColumns, StorageError> {
    let n = unique.len();
    let mut c = TradeColumns {
        market: Vec::with_capacity(n),
        id: Vec::with_capacity(n),
        price: Texts::with_capacity(n, 12),
        size: Texts::with_capacity(n, 12),
        side: Texts::with_capacity(n, 1),
        exchange_time: Vec::with_capacity(n),
        received_time: Vec::with_capacity(n),
        position: Vec::with_capacity(n),
    };
    for &(event, trade, at) in unique {
        c.market.push(ids.id(event.exchange, event.market)?);
        c.id.push(trade_id(event.exchange, event.market, trade.trade_id)?);
        c.price.decimal(Some(trade.price));
        c.size.decimal(Some(trade.size));
        c.side.text(side_text(trade.side));
        c.exchange_time.push(event.exchange_time.as_micros());
        c.received_time.push(event.received_time.as_micros());
        c.position.push(at.unwrap_or(NO_POSITION));
    }
    Ok(c)
}

/// The tickers' columns.
fn ticker_columns(ids: &MarketIds, batch: &[TickerRef<'_>]) -> Result<TickerColumns, StorageError> {
    let n = batch.len();
    let mut c = TickerColumns {
        market: Vec::with_capacity(n),
        exchange_time: Vec::with_capacity(n),
        received_time: Vec::with_capacity(n),
        decimals: std::array::from_fn(|_| Texts::with_capacity(n, 12)),
        position: Vec::with_capacity(n),
    };
    for &(event, t, at) in batch {
        c.market.push(ids.id(event.exchange, event.market)?);
        c.exchange_time.push(event.exchange_time.as_micros());
        c.received_time.push(event.received_time.as_micros());
        for (column, value) in c.decimals.iter_mut().zip(t.decimals()) {
            column.decimal(value);
        }
        c.position.push(at.unwrap_or(NO_POSITION));
    }
    Ok(c)
}

/// The order books' columns.
fn book_columns(ids: &MarketIds, batch: &[BookRef<'_>]) -> Result<BookColumns, StorageError> {
    let mut c = BookColumns::default();
    for (event, book) in batch {
        c.market.push(ids.id(event.exchange, event.market)?);
        c.exchange_time.push(event.exchange_time.as_micros());
        c.received_time.push(event.received_time.as_micros());
        c.bids.push(orderbook_snapshots::levels_to_json(&book.bids));
        c.asks.push(orderbook_snapshots::levels_to_json(&book.asks));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_back_one_by_one_with_absent_decimals_empty() {
        let mut texts = Texts::with_capacity(4, 4);
        texts.decimal(Some(Decimal::new(12_500, 2)));
        texts.decimal(None);
        texts.text("b");
        texts.decimal(Some(Decimal::new(0, 8)));
        assert_eq!(texts.slices(), ["125.00", "", "b", "0.00000000"]);
        assert!(Texts::default().slices().is_empty());
    }
}
