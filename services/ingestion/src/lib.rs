//! The ingestion service: exchange feeds published to the bus in batches, through a bounded
//! outage buffer.
//!
//! Events from every feed go to one [`publisher`], which writes them live and durably in one
//! round trip per batch (`PUBLISH tickmesh:live:{exchange}:{market}` and `XADD
//! tickmesh:events` on Redis). While the bus is down they wait in the [`buffer`], whose size
//! and [`OverflowPolicy`] are configurable; every event the policy drops is counted in
//! [`PublisherStats`] and logged.

pub mod buffer;
pub mod follow;
pub mod grpc;
pub mod metrics;
pub mod ownership;
pub mod publisher;
mod service;
mod start;
mod stats;

pub use buffer::{OutageBuffer, OverflowPolicy};
pub use publisher::{Outgoings, PublisherConfig, run_publisher};
pub use service::{ExchangeFeed, Ingestion, IngestionConfig, IngestionError};
pub use start::{IngestionPorts, start};
pub use stats::{PublisherSnapshot, PublisherStats};
