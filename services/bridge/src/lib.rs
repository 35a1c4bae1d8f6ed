//! The bridge service: the durable stream (`tickmesh:events` on Redis) handed to the Kafka
//! topics, entry by entry acknowledged only after Kafka confirmed it.
//!
//! [`run_bridge`] reads the stream as a member of the consumer group `bridge` with the shared
//! consume loop ([`tickmesh_bus::pump`]), routes each event to `tickmesh.trades`,
//! `tickmesh.tickers` or `tickmesh.orderbooks` by its kind (key and headers kept, so
//! per-market order and the trace context carry over, and the entry's stream position added in
//! the `tickmesh-position` header), sends anything it cannot decode, or that Kafka refuses for
//! good (a record over the broker's size limit), to `tickmesh.dlq` with the reason, and
//! acknowledges only after Kafka confirmed. A crash between the two
//! re-sends the batch on restart (at least once; storage deduplicates). Entries a crashed
//! member left pending are taken over by the others (Redis `XAUTOCLAIM`, inside the Redis
//! adapter).

mod forwarding;
pub mod grpc;
pub mod metrics;
mod route;
mod run;
mod start;
mod stats;

pub use forwarding::{Forwarding, Routed};
pub use route::{route, stamp_position};
pub use run::{BridgeConfig, run_bridge};
pub use start::{BridgePorts, start};
pub use stats::{BridgeSnapshot, BridgeStats};
