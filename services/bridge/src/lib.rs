//! The bridge service: the durable stream (`tickmesh:events` on Redis) handed to the Kafka
//! topics, entry by entry acknowledged only after Kafka confirmed it.
//!
//! [`run_bridge`] reads the stream as a member of the consumer group `bridge`, routes each
//! event to `tickmesh.trades`, `tickmesh.tickers` or `tickmesh.orderbooks` by its kind (key
//! and headers kept, so per-market order and the trace context carry over), sends anything it
//! cannot decode to `tickmesh.dlq` with the reason, waits for the sink to confirm, and only
//! then acknowledges. A crash between the two re-sends the batch on restart (at least once;
//! storage deduplicates). Entries a crashed member left pending are taken over by the others
//! (Redis `XAUTOCLAIM`, inside the Redis adapter).

mod forward;
pub mod grpc;
mod route;
mod run;
mod stats;

pub use route::{Routed, route};
pub use run::{BridgeConfig, run_bridge};
pub use stats::{BridgeSnapshot, BridgeStats};
