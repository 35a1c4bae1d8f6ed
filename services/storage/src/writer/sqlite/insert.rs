//! Multi-row inserts of trades (learning which were new), tickers and order books on SQLite.
//!
//! Values go through [`StoredDecimal::to_expr`] so decimals keep their exact digits and scale
//! as text. Inserts are cut into chunks below SQLite's bind-parameter limit (32766).

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbBackend, IdenStatic};

use crate::StorageError;
use crate::decimal::StoredDecimal;
use crate::entity::{orderbook_snapshots, tickers, trades};
use crate::writer::market_ids::MarketIds;
use crate::writer::rows::{
    BookRef, TickerRef, TradeRef, row_error, rows_per_statement, side_text, trade_id, unique_trades,
};

/// Inserts `batch`, skipping trades already stored. Returns the trades that were new (first
/// occurrence when a batch repeats one) and how many were not.
pub(crate) async fn trades<'a, C: ConnectionTrait>(
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
        C::Position,
    ];
    let mut new = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(rows_per_statement(columns.len())) {
        let mut insert = Query::insert();
        insert.into_table(trades::Entity).columns(columns);
        for (event, trade, position) in chunk {
            let row: [SimpleExpr; 8] = [
                Expr::val(ids.id(event.exchange, event.market)?).into(),
                Expr::val(trade_id(event.exchange, event.market, trade.trade_id)?).into(),
                StoredDecimal(trade.price).to_expr(backend),
                StoredDecimal(trade.size).to_expr(backend),
                Expr::val(side_text(trade.side)).into(),
                Expr::val(event.exchange_time.as_micros()).into(),
                Expr::val(event.received_time.as_micros()).into(),
                Expr::val(*position).into(),
            ];
            insert.values(row).map_err(row_error)?;
        }
        insert
            .on_conflict(
                OnConflict::columns([C::MarketId, C::ExchangeTimeUs, C::TradeId])
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
    for &(event, trade, position) in rows {
        let key = (
            ids.id(event.exchange, event.market)?,
            trade_id(event.exchange, event.market, trade.trade_id)?,
        );
        if inserted.contains(&key) {
            new.push((event, trade, position));
        }
    }
    Ok(())
}

/// Inserts ticker updates, skipping those already stored; returns how many were stored.
pub(crate) async fn tickers<C: ConnectionTrait>(
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
        C::Position,
    ];
    let mut stored = 0;
    for chunk in batch.chunks(rows_per_statement(columns.len())) {
        let mut insert = Query::insert();
        insert.into_table(tickers::Entity).columns(columns);
        for (event, t, position) in chunk {
            let opt = |value: Option<_>| StoredDecimal::option_expr(value, backend);
            let row: [SimpleExpr; 13] = [
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
                Expr::val(*position).into(),
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
pub(crate) async fn orderbooks<C: ConnectionTrait>(
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
