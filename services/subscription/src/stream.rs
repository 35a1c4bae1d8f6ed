//! Live tick streaming: `TickStreamService.StreamTicks`.
//!
//! - [`filter`]: what a client asked for ([`TickFilter`]), and the live channel patterns that
//!   cover it.
//! - [`hub`]: [`TickHub`], one live bus subscription fanned out to every client through a
//!   bounded inbox per client, with lagged markers for clients that fall behind and feed gaps
//!   from ingestion. No tonic types.
//! - [`replay`]: [`Replayer`], reading history back for clients that resume: the durable
//!   stream by position, and the [`archive`] ([`EventArchive`]) for what the stream dropped.
//! - [`session`]: one client from its start point to live, with a cursor on every item and
//!   no gap or duplicate at the seam.
//! - [`grpc`]: the tonic service over a hub ([`server`]).
//!
//! The composition root starts one hub per process with [`TickHub::new`], serves
//! [`server`], feeds ingestion's gap reports to [`TickHub::publish_gap`] and calls
//! [`TickHub::close`] on shutdown so open streams end and the server can drain.

pub mod archive;
mod clients;
mod dispatch;
pub mod filter;
pub mod grpc;
pub mod hub;
mod index;
pub mod metrics;
pub mod replay;
pub mod session;

pub use archive::{ArchiveError, ArchiveQuery, EventArchive, MemoryArchive};
pub use filter::TickFilter;
pub use grpc::{StreamLimits, TickStreamGrpc, server};
pub use hub::{HubConfig, HubError, HubStats, TickEvent, TickHub, TickItem, TickStream};
pub use replay::{ReplayConfig, ReplayFrom, ReplayStats, Replayer};
pub use session::{Session, SessionItem};
