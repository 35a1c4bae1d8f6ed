//! What can go wrong while storing market data.

use sea_orm::{DbErr, RuntimeErr};
use tickmesh_bus::BusError;
use tickmesh_domain::{Exchange, Market};

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database URL names a backend tickmesh does not run on.
    #[error("unsupported database url scheme `{scheme}`: expected sqlite: or postgres://")]
    UnsupportedUrl {
        /// The scheme the URL had (the text before its first `:`).
        scheme: String,
    },
    /// The database URL has a parameter that would hold a credential and that the PostgreSQL
    /// driver does not know, so it would log it (with its value) and ignore it.
    #[error(
        "database url parameter `{name}` is not supported (the password goes in the user info or `password=`)"
    )]
    UnsupportedParameter {
        /// The parameter's name.
        name: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot connect to the {backend} database")]
    Connect {
        /// `postgres` or `sqlite`.
        backend: &'static str,
        /// Why.
        #[source]
        source: DbErr,
    },
    /// A statement or transaction failed; retrying the batch later may succeed.
    #[error("database operation failed")]
    Db(#[from] DbErr),
    /// A trade id above `i64::MAX`, which the `BIGINT` key column cannot hold; retrying will
    /// not help.
    #[error(
        "trade id {trade_id} of {exchange} {market} exceeds the largest storable id {}",
        i64::MAX
    )]
    TradeIdOutOfRange {
        /// The exchange.
        exchange: Exchange,
        /// The market.
        market: Market,
        /// The id.
        trade_id: u64,
    },
    /// An event outside what tickmesh stores (a value out of range, a time before 2009 or in
    /// the future); retrying will not help, the record is dead-lettered.
    #[error("{exchange} {market} event cannot be stored: {rejection}")]
    OutOfBounds {
        /// The exchange.
        exchange: Exchange,
        /// The market.
        market: Market,
        /// What is wrong.
        rejection: tickmesh_domain::Rejection,
    },
    /// Folding a trade into its one-minute candle would overflow a decimal sum; retrying will
    /// not help, the trade is dead-lettered.
    #[error("trade {trade_id} of {exchange} {market} overflows its candle")]
    CandleOverflow {
        /// The exchange.
        exchange: Exchange,
        /// The market.
        market: Market,
        /// The trade.
        trade_id: u64,
        /// Which sum.
        #[source]
        source: tickmesh_domain::CandleOverflow,
    },
    /// A stored row holds a value tickmesh did not write (a corrupt or foreign row).
    #[error("invalid stored {table}.{column}: {reason}")]
    InvalidRow {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// The durable log failed.
    #[error("durable log operation failed")]
    Bus(#[from] BusError),
}

impl StorageError {
    /// Whether the same operation may succeed later (the database or the log was unavailable),
    /// as opposed to input that will never be storable.
    pub fn is_retryable(&self) -> bool {
        match self {
            StorageError::Db(e) => !refuses_data(e),
            StorageError::Connect { .. } => true,
            StorageError::Bus(e) => e.is_retryable(),
            StorageError::UnsupportedUrl { .. }
            | StorageError::UnsupportedParameter { .. }
            | StorageError::TradeIdOutOfRange { .. }
            | StorageError::CandleOverflow { .. }
            | StorageError::OutOfBounds { .. }
            | StorageError::InvalidRow { .. } => false,
        }
    }

    pub(crate) fn invalid_row(
        table: &'static str,
        column: &'static str,
        reason: impl std::fmt::Display,
    ) -> StorageError {
        StorageError::InvalidRow {
            table,
            column,
            reason: reason.to_string(),
        }
    }
}

/// Whether the database refused a statement because of the values in it, so the same rows
/// will never be accepted: PostgreSQL SQLSTATE classes 22 (data exception: a number out of
/// range, an invalid value) and 23 (integrity constraint violation: a `CHECK`, a `NOT NULL`),
/// and SQLite's primary codes for the same (`SQLITE_TOOBIG`, `SQLITE_CONSTRAINT`,
/// `SQLITE_MISMATCH`, `SQLITE_RANGE`). Everything else (connections, timeouts, locks,
/// serialization failures, a full disk) may pass when retried.
pub fn refuses_data(error: &DbErr) -> bool {
    use sea_orm::sqlx;
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = error
    else {
        return false;
    };
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let Some(code) = db.code() else {
        return false;
    };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Extended codes carry the primary code in their low byte.
        return code
            .parse::<i32>()
            .is_ok_and(|c| matches!(c & 0xff, 18 | 19 | 20 | 25));
    }
    code.starts_with("22") || code.starts_with("23")
}
