//! The conformance suites: what every adapter of a port must do, as async functions that panic
//! on the first violation. Each adapter's tests call them with a real server (Redis, Kafka) or
//! the in-process adapter; names are made unique per run by the caller's `prefix`, so suites
//! can share a server with other tests.

// Test code only (behind the `conformance` feature, which only dev-dependencies enable): a
// panic is how a suite reports a violated contract, so unwrap and expect are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod history;
pub mod lease;
pub mod live;
pub mod log;
pub mod publisher;

use std::time::Duration;

use bytes::Bytes;

use crate::Record;

/// How long a suite waits for anything a real server should deliver in milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `n` distinct records under `key`, numbered from `from`, with both tickmesh headers.
pub fn records(key: &str, from: usize, n: usize) -> Vec<Record> {
    (from..from + n)
        .map(|i| {
            Record::new(key, Bytes::from(format!("{key}#{i}")))
                .with_header(crate::TRACEPARENT, format!("00-{i:032x}-{i:016x}-01"))
                .with_header(crate::CONTENT_TYPE, crate::content_type_protobuf())
        })
        .collect()
}
