//! SQLite: a batch as one transaction of multi-row inserts ([`insert`]), with the touched
//! candles read back and merged in Rust ([`candles`]), because SQLite stores decimals as text,
//! where `max()` and `<` compare lexically (`"9" > "10"`). SQLite runs one writer at a time,
//! and the transaction starts with an insert, so it holds the write lock before it reads
//! candles.

pub(crate) mod candles;
pub(crate) mod insert;

use sea_orm::{ConnectionTrait as _, DatabaseConnection, TransactionTrait};

use super::market_ids::MarketIds;
use super::rows::{BookRef, TickerRef, TradeRef, Written};
use crate::StorageError;

/// Writes one batch in one transaction; trades already stored and repeats within the batch
/// are skipped, and only new trades reach the candles.
pub(crate) async fn write(
    db: &DatabaseConnection,
    ids: &MarketIds,
    trades: &[TradeRef<'_>],
    tickers: &[TickerRef<'_>],
    books: &[BookRef<'_>],
) -> Result<Written, StorageError> {
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    let (new_trades, _) = insert::trades(&txn, backend, ids, trades).await?;
    let candles_touched = candles::upsert(&txn, backend, ids, &new_trades).await?;
    let tickers = insert::tickers(&txn, backend, ids, tickers).await?;
    let orderbooks = insert::orderbooks(&txn, backend, ids, books).await?;
    txn.commit().await?;
    Ok(Written {
        trades_inserted: new_trades.len(),
        candles_touched,
        tickers,
        orderbooks,
    })
}
