//! What both backends' writers share: a batch's rows by kind, how a trade id and a side are
//! stored, and how inserts are cut into statements.

use sea_orm::DbErr;
use tickmesh_domain::{Exchange, Market, MarketEvent, OrderBook, Side, Ticker, Trade, TradeId};

use crate::StorageError;

/// Bind parameters per statement, under the lower of the two backends' limits.
pub(crate) const MAX_BIND_PARAMS: usize = 30_000;

/// A trade of a batch with the event that carried it and its stream position as the
/// `position` column stores it ([`Position::packed`](tickmesh_bus::Position::packed)).
pub(crate) type TradeRef<'a> = (&'a MarketEvent, &'a Trade, Option<i64>);
/// A ticker of a batch with its event and its stream position, as [`TradeRef`].
pub(crate) type TickerRef<'a> = (&'a MarketEvent, &'a Ticker, Option<i64>);
/// An order book of a batch with its event.
pub(crate) type BookRef<'a> = (&'a MarketEvent, &'a OrderBook);

/// The id as the `BIGINT` column stores it, or why it cannot be stored.
pub(crate) fn trade_id(
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

/// The text a side is stored as: one byte, a `"char"` on PostgreSQL (migration 11).
pub(crate) fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "b",
        Side::Sell => "s",
    }
}

/// Rows per statement for a table of `columns` columns.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (MAX_BIND_PARAMS / columns.max(1)).max(1)
}

/// sea-query rejects a row whose value count differs from the column count; ours never do.
pub(crate) fn row_error(e: sea_orm::sea_query::error::Error) -> StorageError {
    StorageError::Db(DbErr::Custom(format!("malformed insert: {e}")))
}

/// The first occurrence of each trade of `batch`, in batch order.
pub(crate) fn unique_trades<'a>(batch: &[TradeRef<'a>]) -> Vec<TradeRef<'a>> {
    let mut seen = foldhash::HashSet::default();
    batch
        .iter()
        .filter(|(e, t, _)| seen.insert((e.exchange, e.market, t.trade_id)))
        .copied()
        .collect()
}

/// What a backend's write of one batch stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// Trades stored for the first time.
    pub trades_inserted: usize,
    /// Candles created or updated.
    pub candles_touched: usize,
    /// Ticker updates stored.
    pub tickers: usize,
    /// Order book snapshots stored.
    pub orderbooks: usize,
}
