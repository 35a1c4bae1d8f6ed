//! The storage service: market events from the durable log written to the database
//! idempotently.
//!
//! Events arrive on the `tickmesh.trades`, `tickmesh.tickers` and `tickmesh.orderbooks` topics
//! [`run`] reads them as consumer group `storage`, writes each batch in one
//! transaction with [`MarketStore`], and acknowledges the batch only after the transaction
//! committed; rows are keyed on natural keys and written with `ON CONFLICT`, so a batch
//! delivered again after a crash changes nothing. Records that are not valid events go to
//! `tickmesh.dlq` with the reason in a header, never silently away.
//!
//! The same code runs on PostgreSQL and on an embedded SQLite file; [`decimal`] explains what
//! keeps prices exact on both.
//!
//! # Layout
//! * [`connect()`]: opening a database from a URL, and the history read pool
//!   ([`connect_history`]).
//! * [`entity`]: sea-orm entities of the tables `tickmesh-migrations` creates.
//! * [`decimal`]: [`StoredDecimal`], exact decimals in and out of both backends.
//! * [`writer`]: [`MarketStore`], one transaction per batch, candles merged from new trades.
//! * [`query`]: reads (trades, tickers, books, candles).
//! * [`archive`]: [`archived_events`], stored trades and tickers in stream-position order,
//!   for stream clients resuming from further back than the stream holds.
//! * [`history`]: the `HistoryService` queries in domain types: latest tickers and their
//!   spread, trade pages, rolled-up candles, spread over time; [`HistoryReader`] runs them
//!   within the limits of a [`HistoryConfig`].
//! * [`grpc`]: the `HistoryService` gRPC edge ([`HistoryGrpc`], [`history_server`]).
//! * [`consumer`]: the service loop ([`run`]) and its [`StorageStats`].
//! * [`maintenance`]: partitions made ahead (PostgreSQL) and retention, in a round storage
//!   runs at start and on an interval.

pub mod archive;
pub mod connect;
pub mod consumer;
pub mod decimal;
pub mod entity;
mod error;
pub mod grpc;
pub mod history;
pub mod maintenance;
pub mod metrics;
pub mod query;
mod start;
mod stats;
pub mod writer;

pub use archive::{ArchiveQuery, MAX_ARCHIVE_EVENTS, archived_events};
pub use connect::{connect, connect_history, connect_with_ca};
pub use consumer::{StorageServiceConfig, Storing, run};
pub use decimal::StoredDecimal;
pub use error::{StorageError, refuses_data};
pub use grpc::{HistoryGrpc, server as history_server};
pub use history::{HistoryConfig, HistoryError, HistoryReader};
pub use maintenance::{MaintenanceConfig, MaintenanceStats, Retention, dropped_through, maintain};
pub use start::{StoragePorts, start};
pub use stats::{BATCH_SECONDS_BOUNDS, StorageStats, StorageStatsSnapshot};
pub use writer::{
    BookThrottle, MarketStore, Positioned, ShardedStore, StoreConfig, WriteSummary, validate,
};
