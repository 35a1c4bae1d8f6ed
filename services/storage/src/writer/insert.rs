//! Multi-row inserts of trades (learning which were new), tickers and order books: the SQLite
//! path. PostgreSQL writes a whole batch in one statement instead ([`super::postgres`]).
//!
//! Values go through [`StoredDecimal::to_expr`] so decimals keep their exact digits and scale
//! on both backends. Inserts are cut into chunks below the bind-parameter limits (SQLite 32766,
//! PostgreSQL 65535).

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, IdenStatic};
use tickmesh_domain::{Exchange, Market, MarketEvent, OrderBook, Side, Ticker, Trade, TradeId};

use super::market_ids::MarketIds;
use crate::StorageError;
use crate::decimal::StoredDecimal;
use crate::entity::{orderbook_snapshots, tickers, trades};

/// Bind parameters per statement, under the lower of the two backends' limits.
pub(super) const MAX_BIND_PARAMS: usize = 30_000;

/// A trade of a batch with the event that carried it.
pub(super) type TradeRef<'a> = (&'a MarketEvent, &'a Trade);
/// A ticker of a batch with its event.
pub(super) type TickerRef<'a> = (&'a MarketEvent, &'a Ticker);
/// An order book of a batch with its event.
pub(super) type BookRef<'a> = (&'a MarketEvent, &'a OrderBook);

/// The id as the `BIGINT` column stores it, or why it cannot be stored.
pub(super) fn trade_id(
    exchange: Exchange,
    market: Market,
    id: TradeId,
) -> Result<i64, StorageError> {
    i64::try_from(id.0).map_err(|_| StorageError::TradeIdOutOfRange {
        exchange,
        market,
        trade_id: id.0,
    })
}

/// The text a side is stored as.
pub(crate) fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// Rows per statement for a table of `columns` columns.
pub(super) fn rows_per_statement(columns: usize) -> usize {
    (MAX_BIND_PARAMS / columns.max(1)).max(1)
}

/// sea-query rejects a row whose value count differs from the column count; ours never do.
pub(super) fn row_error(e: sea_orm::sea_query::error::Error) -> StorageError {
    StorageError::Db(DbErr::Custom(format!("malformed insert: {e}")))
}

/// The first occurrence of each trade of `batch`, in batch order.
pub(super) fn unique_trades<'a>(batch: &[TradeRef<'a>]) -> Vec<TradeRef<'a>> {
    let mut seen = HashSet::new();
    batch
        .iter()
        .filter(|(e, t)| seen.insert((e.exchange, e.market, t.trade_id)))
        .copied()
        .collect()
}

/// Inserts `batch`, skipping trades already stored. Returns the trades that were new (first
/// occurrence when a batch repeats one) and how many were not.
pub(super) async fn trades<'a, C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    ids: &MarketIds,
    batch: &[TradeRef<'a>],
) -> Result<(Vec<TradeRef<'a>>, usize), StorageError> {
    let unique = unique_trades(batch);
    use trades::Column as C;
    let columns = [
        C::MarketId,
        C::TradeId,
        C::Price,
        C::Size,
        C::Side,
        C::ExchangeTimeUs,
        C::ReceivedTimeUs,
    ];
    let mut new = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(rows_per_statement(columns.len())) {
        let mut insert = Query::insert();
        insert.into_table(trades::Entity).columns(columns);
        for (event, trade) in chunk {
            let row: [SimpleExpr; 7] = [
                Expr::val(ids.id(event.exchange, event.market)?).into(),
                Expr::val(trade_id(event.exchange, event.market, trade.trade_id)?).into(),
                StoredDecimal(trade.price).to_expr(backend),
                StoredDecimal(trade.size).to_expr(backend),
                Expr::val(side_text(trade.side)).into(),
                Expr::val(event.exchange_time.as_micros()).into(),
                Expr::val(event.received_time.as_micros()).into(),
            ];
            insert.values(row).map_err(row_error)?;
        }
        insert
            .on_conflict(
                OnConflict::columns([C::MarketId, C::TradeId])
                    .do_nothing()
                    .to_owned(),
            )
            .returning(Query::returning().columns([C::MarketId, C::TradeId]));
        let mut inserted = HashSet::new();
        for row in db.query_all(backend.build(&insert)).await? {
            let market: i32 = row.try_get("", C::MarketId.as_str())?;
            let id: i64 = row.try_get("", C::TradeId.as_str())?;
            inserted.insert((market, id));
        }
        keep_inserted(ids, chunk, &inserted, &mut new)?;
    }
    let duplicates = batch.len() - new.len();
    Ok((new, duplicates))
}

/// Appends to `new` the trades of `rows` whose keys the insert returned, in `rows` order.
fn keep_inserted<'a>(
    ids: &MarketIds,
    rows: &[TradeRef<'a>],
    inserted: &HashSet<(i32, i64)>,
    new: &mut Vec<TradeRef<'a>>,
) -> Result<(), StorageError> {
    for &(event, trade) in rows {
        let key = (
            ids.id(event.exchange, event.market)?,
            trade_id(event.exchange, event.market, trade.trade_id)?,
        );
        if inserted.contains(&key) {
            new.push((event, trade));
        }
    }
    Ok(())
}

/// Inserts ticker updates, skipping those already stored; returns how many were stored.
pub(super) async fn tickers<C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    ids: &MarketIds,
    batch: &[TickerRef<'_>],
) -> Result<usize, StorageError> {
    use tickers::Column as C;
    let columns = [
        C::MarketId,
        C::ExchangeTimeUs,
        C::ReceivedTimeUs,
        C::Last,
        C::Open,
        C::High,
        C::Low,
        C::PrevClose,
        C::Volume24h,
        C::QuoteVolume24h,
        C::BestBid,
        C::BestAsk,
    ];
    let mut stored = 0;
    for chunk in batch.chunks(rows_per_statement(columns.len())) {
        let mut insert = Query::insert();
        insert.into_table(tickers::Entity).columns(columns);
        for (event, t) in chunk {
            let opt = |value: Option<_>| StoredDecimal::option_expr(value, backend);
            let row: [SimpleExpr; 12] = [
                Expr::val(ids.id(event.exchange, event.market)?).into(),
                Expr::val(event.exchange_time.as_micros()).into(),
                Expr::val(event.received_time.as_micros()).into(),
                StoredDecimal(t.last).to_expr(backend),
                opt(t.open),
                opt(t.high),
                opt(t.low),
                opt(t.prev_close),
                opt(t.volume_24h),
                opt(t.quote_volume_24h),
                opt(t.best_bid),
                opt(t.best_ask),
            ];
            insert.values(row).map_err(row_error)?;
        }
        insert.on_conflict(
            OnConflict::columns([C::MarketId, C::ExchangeTimeUs])
                .do_nothing()
                .to_owned(),
        );
        stored += db.execute(backend.build(&insert)).await?.rows_affected();
    }
    Ok(usize::try_from(stored).unwrap_or(usize::MAX))
}

/// Inserts order book snapshots, skipping those already stored; returns how many were stored.
pub(super) async fn orderbooks<C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    ids: &MarketIds,
    batch: &[BookRef<'_>],
) -> Result<usize, StorageError> {
    use orderbook_snapshots::Column as C;
    let columns = [
        C::MarketId,
        C::ExchangeTimeUs,
        C::ReceivedTimeUs,
        C::Bids,
        C::Asks,
    ];
    let mut stored = 0;
    for chunk in batch.chunks(rows_per_statement(columns.len())) {
        let mut insert = Query::insert();
        insert
            .into_table(orderbook_snapshots::Entity)
            .columns(columns);
        for (event, book) in chunk {
            let row: [SimpleExpr; 5] = [
                Expr::val(ids.id(event.exchange, event.market)?).into(),
                Expr::val(event.exchange_time.as_micros()).into(),
                Expr::val(event.received_time.as_micros()).into(),
                Expr::val(orderbook_snapshots::levels_to_json(&book.bids)).into(),
                Expr::val(orderbook_snapshots::levels_to_json(&book.asks)).into(),
            ];
            insert.values(row).map_err(row_error)?;
        }
        insert.on_conflict(
            OnConflict::columns([C::MarketId, C::ExchangeTimeUs])
                .do_nothing()
                .to_owned(),
        );
        stored += db.execute(backend.build(&insert)).await?.rows_affected();
    }
    Ok(usize::try_from(stored).unwrap_or(usize::MAX))
}
