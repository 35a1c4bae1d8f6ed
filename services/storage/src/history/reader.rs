//! [`HistoryReader`]: the history queries on the pool the service reads from, within the
//! limits of [`HistoryConfig`].
//!
//! History reads have a database pool of their own ([`connect_history`](crate::connect_history)),
//! so however many expensive reads arrive, they take at most [`HistoryConfig::connections`]
//! connections and never the writer's: storage keeps writing while history is busy. On
//! PostgreSQL each of those connections stops a statement after
//! [`HistoryConfig::statement_timeout`]; the reader turns that refusal into
//! [`HistoryError::TimedOut`], and a pool with no free connection into [`HistoryError::Busy`].
//! SQLite has no statement timeout: there the rows limit is the only bound on a call.

use std::time::Duration;

use sea_orm::{ConnAcquireErr, DatabaseConnection, DbErr, RuntimeErr};
use tickmesh_domain::{CandleInterval, Exchange, Market, UtcMicros};

use super::candles::{self, Span};
use super::spread::{self, SpreadPoint};
use super::{
    HistoryError, LatestTickers, PageRequest, TickerPage, TradePage, latest_tickers, tickers_page,
    trades_page,
};
use crate::StorageError;

/// What history reads may cost the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Most one-minute rows one candle or spread call may read, over every exchange it reads
    /// (`storage.history_max_rows`); a range covering more is refused as invalid.
    pub max_rows: u64,
    /// Connections of the history read pool (`storage.history_connections`).
    pub connections: u32,
    /// How long PostgreSQL lets one history statement run
    /// (`storage.history_statement_timeout`); SQLite has no such limit.
    pub statement_timeout: Duration,
}

impl HistoryConfig {
    /// The default of [`HistoryConfig::max_rows`]: about two years of minutes of one market,
    /// which PostgreSQL rolls up in well under the default statement timeout (measured in
    /// docs/benchmarks.md).
    pub const DEFAULT_MAX_ROWS: u64 = 1_000_000;
    /// The smallest [`HistoryConfig::max_rows`] accepted: one 1d spread point, a day of minutes
    /// on two exchanges. Less would refuse every 1d spread.
    pub const MIN_MAX_ROWS: u64 = 2 * 24 * 60;
}

impl Default for HistoryConfig {
    fn default() -> HistoryConfig {
        HistoryConfig {
            max_rows: HistoryConfig::DEFAULT_MAX_ROWS,
            // Beside the writer's ten: a few slow reads at once, not enough to take the
            // database's CPU from the writer.
            connections: 4,
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// The `HistoryService` queries on the history pool, within a [`HistoryConfig`].
#[derive(Debug, Clone)]
pub struct HistoryReader {
    db: DatabaseConnection,
    config: HistoryConfig,
}

impl HistoryReader {
    /// Reads from `db`, which [`connect_history`](crate::connect_history) opened with `config`.
    pub fn new(db: DatabaseConnection, config: HistoryConfig) -> HistoryReader {
        HistoryReader { db, config }
    }

    /// The limits this reader applies.
    pub fn config(&self) -> &HistoryConfig {
        &self.config
    }

    /// [`latest_tickers`] on the history pool.
    pub async fn latest_tickers(&self, market: Market) -> Result<LatestTickers, HistoryError> {
        latest_tickers(&self.db, market)
            .await
            .map_err(|e| self.classify(e))
    }

    /// [`trades_page`] on the history pool; [`MAX_PAGE_SIZE`](super::MAX_PAGE_SIZE) bounds it.
    pub async fn trades_page(&self, request: &PageRequest<'_>) -> Result<TradePage, HistoryError> {
        trades_page(&self.db, request)
            .await
            .map_err(|e| self.classify(e))
    }

    /// [`tickers_page`] on the history pool; [`MAX_PAGE_SIZE`](super::MAX_PAGE_SIZE) bounds it.
    pub async fn tickers_page(
        &self,
        request: &PageRequest<'_>,
    ) -> Result<TickerPage, HistoryError> {
        tickers_page(&self.db, request)
            .await
            .map_err(|e| self.classify(e))
    }

    /// The candles of `market` on `exchange` at `interval` over `[start, end)`, oldest first
    /// (see [`candles`](super::candles) for buckets). Errors name `end_time` when
    /// `start >= end`, and `start_time` when the range spans more than
    /// [`MAX_CANDLES`](super::MAX_CANDLES) buckets or more than [`HistoryConfig::max_rows`]
    /// one-minute rows.
    pub async fn candles(
        &self,
        exchange: Exchange,
        market: Market,
        interval: CandleInterval,
        start: UtcMicros,
        end: UtcMicros,
    ) -> Result<Vec<tickmesh_domain::Candle>, HistoryError> {
        let span = Span::new(interval, start, end, 1, self.config.max_rows)?;
        candles::candles(&self.db, exchange, market, span)
            .await
            .map_err(|e| self.classify(e))
    }

    /// How `other`'s close differed from `base`'s for `market` in every bucket of
    /// `[start, end)` where both exchanges have a candle, oldest first. Errors as
    /// [`HistoryReader::candles`], counting the rows of both exchanges, and name
    /// `other_exchange` when it is `base`.
    pub async fn spread_history(
        &self,
        market: Market,
        base: Exchange,
        other: Exchange,
        interval: CandleInterval,
        start: UtcMicros,
        end: UtcMicros,
    ) -> Result<Vec<SpreadPoint>, HistoryError> {
        if base == other {
            return Err(HistoryError::invalid(
                "other_exchange",
                format!("must differ from base_exchange ({base})"),
            ));
        }
        let span = Span::new(interval, start, end, 2, self.config.max_rows)?;
        spread::spread_history(&self.db, market, base, other, span)
            .await
            .map_err(|e| self.classify(e))
    }

    /// The start a candle query without one gets (`exchanges` is 1 for candles, 2 for a
    /// spread): the longest range ending at `end` within this reader's limits.
    pub fn default_start(
        &self,
        interval: CandleInterval,
        end: UtcMicros,
        exchanges: u32,
    ) -> UtcMicros {
        candles::default_start(interval, end, self.config.max_rows, exchanges)
    }

    /// A statement PostgreSQL cancelled becomes [`HistoryError::TimedOut`], a pool that had no
    /// connection to give [`HistoryError::Busy`]; anything else stays as it is.
    fn classify(&self, e: HistoryError) -> HistoryError {
        match e {
            HistoryError::Storage(StorageError::Db(source)) if cancelled(&source) => {
                HistoryError::TimedOut {
                    timeout: self.config.statement_timeout,
                    source,
                }
            }
            HistoryError::Storage(StorageError::Db(
                source @ DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            )) => HistoryError::Busy {
                connections: self.config.connections,
                source,
            },
            other => other,
        }
    }
}

/// SQLSTATE 57014, `query_canceled`: what PostgreSQL answers when `statement_timeout` stops a
/// statement. An operator's `pg_cancel_backend` gives the same code and is reported the same
/// way, which is close enough: the query did not finish.
fn cancelled(e: &DbErr) -> bool {
    let (DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e))) = e else {
        return false;
    };
    matches!(e, sea_orm::sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
}
