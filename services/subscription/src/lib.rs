//! The subscription service: the desired set of exchange + market pairs, and live ticks for
//! gRPC clients.
//!
//! - [`subscriptions`]: `SubscriptionService` (Create, Delete, List, Watch) over a
//!   [`subscriptions::SubscriptionStore`] port (in-process and database adapters), validating
//!   markets against each exchange's market list.
//! - [`stream`]: `TickStreamService.StreamTicks`, fed from the live bus, with a bounded buffer
//!   per client and `lagged` markers for clients too slow for it.
//! - [`start`]: both as one supervised service of a process, on the ports it is given.

mod start;
pub mod stream;
pub mod subscriptions;

pub use start::{HistoryPorts, SubscriptionConfig, SubscriptionPorts, start};
pub use stream::ReplayConfig;
