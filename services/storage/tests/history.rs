//! The `HistoryService`: its queries on SQLite and PostgreSQL over rows the real writer stored
//! (latest tickers with their spread and quotes from stored books, trade and ticker pages,
//! candle roll-ups, spread history, exact to the digit and scale), the database's roll-up
//! against the Rust one, the limits on what a call may cost and the pool it reads on, and its
//! gRPC edge served on loopback.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "history/book_quotes.rs"]
mod book_quotes;
#[path = "history/candles.rs"]
mod candles;
#[path = "history/fixtures.rs"]
mod fixtures;
#[path = "history/grpc.rs"]
mod grpc;
#[path = "history/grpc_errors.rs"]
mod grpc_errors;
#[path = "history/hours.rs"]
mod hours;
#[path = "history/limits.rs"]
mod limits;
#[path = "history/pool.rs"]
mod pool;
#[path = "history/queries.rs"]
mod queries;
#[path = "history/rollup.rs"]
mod rollup;
#[path = "history/sqlite_hours.rs"]
mod sqlite_hours;
#[path = "history/ticker_pages.rs"]
mod ticker_pages;
