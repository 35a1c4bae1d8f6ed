//! Stored market history as the `HistoryService` serves it, in domain types (no tonic, no
//! protobuf): the latest ticker of every exchange with the spread between them, a market's
//! trades and tickers page by page, candles at any served interval, and the spread between two
//! exchanges over time.
//!
//! Every price stays an exact [`Decimal`]: rows are read through
//! [`select_exact`](crate::entity::select_exact), and differences, sums and percentages are
//! decimal arithmetic. Percentages are the one rounded value: [`PERCENT_SCALE`] decimal places,
//! halves away from zero, always written with that many places (`0.0639`, `-1.2500`).
//!
//! Time ranges are half open, `[start, end)`, in exchange time.
//!
//! What one call may cost is bounded: candle and spread calls read at most
//! [`HistoryConfig::max_rows`] one-minute rows, trade and ticker pages at most
//! [`MAX_PAGE_SIZE`] rows, and the service reads on a pool of its own whose statements
//! PostgreSQL stops after [`HistoryConfig::statement_timeout`] ([`reader`]).
//!
//! # Layout
//! * [`reader`]: [`HistoryReader`], every query on the history pool with its limits.
//! * [`tickers`]: [`latest_tickers`], quotes completed from the latest book, and the
//!   cross-exchange [`Spread`].
//! * [`trades`]: [`trades_page`], keyset pagination by exchange time and trade id.
//! * [`ticker_pages`]: [`tickers_page`], keyset pagination by exchange time.
//! * `page`: what the paged reads share (page size, range, tokens).
//! * [`candles`]: candles rolled up from `candles_1m`, in SQL on PostgreSQL, grouped by SQLite
//!   and folded in Rust on SQLite; and the bounds of a candle range.
//! * [`spread`]: the spread between two exchanges' closes over time.

pub mod candles;
mod page;
pub mod reader;
pub mod spread;
pub mod ticker_pages;
pub mod tickers;
pub mod trades;

use std::time::Duration;

use sea_orm::DbErr;
use tickmesh_domain::{Decimal, UtcMicros};

use crate::StorageError;

pub use candles::{MAX_CANDLES, default_start};
pub use page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest};
pub use reader::{HistoryConfig, HistoryReader};
pub use spread::SpreadPoint;
pub use ticker_pages::{TickerPage, tickers_page};
pub use tickers::{LatestTicker, LatestTickers, Spread, latest_tickers};
pub use trades::{TradePage, trades_page};

/// Decimal places of every percentage the history queries return.
pub const PERCENT_SCALE: u32 = 4;

/// A history query failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A parameter is not acceptable; `field` is its name in the `HistoryService` requests.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The request field (`page_token`, `end_time`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading the database failed, or a stored row is not valid.
    #[error("reading stored history failed")]
    Storage(#[from] StorageError),
    /// Rolling candles up to the interval asked for would overflow a decimal sum.
    #[error("the {interval} candles' sums overflow the decimal range; ask for a smaller interval")]
    Overflow {
        /// The interval asked for.
        interval: tickmesh_domain::CandleInterval,
        /// Which sum.
        #[source]
        source: tickmesh_domain::CandleOverflow,
    },
    /// PostgreSQL stopped the query at the history pool's statement timeout; the same query
    /// will take as long again, so the caller should ask for less.
    #[error(
        "the query ran past storage.history_statement_timeout ({timeout:?}); ask for a shorter range"
    )]
    TimedOut {
        /// The timeout in force.
        timeout: Duration,
        /// The database's refusal.
        #[source]
        source: DbErr,
    },
    /// No connection of the history pool became free in time: they are all busy with other
    /// reads, or the database cannot be reached.
    #[error(
        "no history database connection came free (storage.history_connections is {connections}); retry later"
    )]
    Busy {
        /// The pool's size.
        connections: u32,
        /// The pool's error.
        #[source]
        source: DbErr,
    },
}

impl From<DbErr> for HistoryError {
    fn from(e: DbErr) -> HistoryError {
        HistoryError::Storage(StorageError::Db(e))
    }
}

impl HistoryError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> HistoryError {
        HistoryError::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }
}

/// Checks that a range is not empty: `start < end` when both are given. The error names
/// `end_time`, the field a client would correct.
pub(crate) fn check_range(
    start: Option<UtcMicros>,
    end: Option<UtcMicros>,
) -> Result<(), HistoryError> {
    match (start, end) {
        (Some(start), Some(end)) if start >= end => Err(HistoryError::invalid(
            "end_time",
            format!(
                "must be after start_time ({} is not after {})",
                end.as_micros(),
                start.as_micros()
            ),
        )),
        _ => Ok(()),
    }
}

/// `difference / base * 100` at [`PERCENT_SCALE`] places; `None` when `base` is zero or the
/// arithmetic leaves the range of [`Decimal`].
pub(crate) fn percent(difference: Decimal, base: Decimal) -> Option<Decimal> {
    let mut value = difference
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(base)?
        .round_dp_with_strategy(
            PERCENT_SCALE,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        );
    value.rescale(PERCENT_SCALE);
    Some(value)
}

#[cfg(test)]
mod tests {
    use tickmesh_domain::parse_decimal;

    use super::*;

    fn d(text: &str) -> Decimal {
        parse_decimal(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn percentages_have_a_fixed_scale() {
        let p = |a, b| percent(d(a), d(b)).map(|p| p.to_string());
        assert_eq!(p("101000.00000000", "158100000").as_deref(), Some("0.0639"));
        assert_eq!(p("-1", "80").as_deref(), Some("-1.2500"));
        assert_eq!(p("1", "3").as_deref(), Some("33.3333"));
        assert_eq!(p("0.000001", "2").as_deref(), Some("0.0001"));
        assert_eq!(p("0", "5").as_deref(), Some("0.0000"));
        assert_eq!(p("1", "0"), None);
    }

    #[test]
    fn ranges_must_not_be_empty() {
        assert!(check_range(None, None).is_ok());
        assert!(check_range(Some(UtcMicros(1)), Some(UtcMicros(2))).is_ok());
        let err = check_range(Some(UtcMicros(2)), Some(UtcMicros(2))).unwrap_err();
        assert!(matches!(
            err,
            HistoryError::InvalidArgument {
                field: "end_time",
                ..
            }
        ));
    }
}
