//! What can go wrong while storing market data.

use sea_orm::DbErr;
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
            StorageError::Db(_) | StorageError::Connect { .. } => true,
            StorageError::Bus(e) => e.is_retryable(),
            StorageError::UnsupportedUrl { .. }
            | StorageError::UnsupportedParameter { .. }
            | StorageError::TradeIdOutOfRange { .. }
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

/// Displays an error with its sources, `outer: inner: innermost`, for logs and dead letters.
#[derive(Debug)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}
