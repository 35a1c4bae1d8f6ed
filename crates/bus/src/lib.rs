//! The bus between tickmesh services, as ports (traits) with an in-process adapter.
//!
//! Two kinds of traffic cross it (docs/architecture.md):
//!
//! - **live** ([`LiveBus`]): fire-and-forget fan-out on named channels
//!   (`tickmesh:live:{exchange}:{market}`). Fast, and forgets what nobody listens to. Each
//!   subscriber has a bounded [`Inbox`]; a slow one loses messages and is told how many.
//! - **durable** ([`DurableLog`]): append-only topics read by consumer groups that acknowledge
//!   what they finished. What a consumer was given but did not acknowledge is given again when
//!   it comes back, so a crash loses nothing (at-least-once; the stores deduplicate).
//!
//! Ingestion writes both at once through [`EventPublisher`], which an adapter may do in one
//! round trip (Redis pipelines `PUBLISH` and `XADD`), under a [`Fence`] when replicated
//! ingestion shares the work through [`LeaseStore`] leases.
//!
//! Adapters: [`memory`] here (embedded mode and unit tests); Redis in `tickmesh-bus-redis`
//! (live, durable stream, publisher); Kafka in `tickmesh-bus-kafka` (durable). Every adapter
//! runs the suites of [`conformance`] (feature `conformance`) against a real server. Payloads
//! are opaque bytes: the protobuf encoding belongs to the services, not to the bus.

mod error;
mod history;
mod inbox;
pub mod lease;
mod live;
mod log;
pub mod memory;
pub mod position;
mod publish;
pub mod pump;
mod record;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::BusError;
pub use history::{HistoryPage, StreamHistory};
pub use inbox::{Inbox, InboxSender, Received};
pub use lease::{Acquired, Fence, Holding, Lease, LeaseStore, OWNER_HEADER, Offer, PublishedMark};
pub use live::{LiveBus, LiveMessage, channel_matches};
pub use log::{Backlog, DurableLog, LogConsumer};
pub use position::{POSITION_HEADER, Position, PositionError};
pub use publish::{EventPublisher, Outgoing, Published};
pub use record::{
    CONTENT_TYPE, Cursor, Delivery, MAX_RECORD_BYTES, Record, TRACEPARENT, content_type_protobuf,
};
