//! Subscription management: `SubscriptionService` (Create, Delete, List, Watch).
//!
//! The desired set of exchange and market pairs, which ingestion follows through Watch.
//!
//! # Layout
//! * [`store`]: the [`SubscriptionStore`] port with its [`MemoryStore`] and [`DbStore`]
//!   adapters.
//! * [`catalog`]: [`MarketCatalog`], the markets each exchange lists (requests for others are
//!   refused with NOT_FOUND).
//! * [`service`]: [`Subscriptions`], the core: validation, store changes, and the broadcast of
//!   changes to watchers, snapshot and changes taken atomically.
//! * [`grpc`]: the tonic edge, [`server`].
//! * `conformance` (feature `conformance`): the suite every store adapter passes.

pub mod catalog;
pub mod grpc;
pub mod service;
pub mod store;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use catalog::{CatalogError, MarketCatalog};
pub use grpc::{SubscriptionGrpc, server};
pub use service::{
    Change, DEFAULT_WATCH_CAPACITY, SubscriptionError, Subscriptions, Watch, WatchError,
};
pub use store::{Added, DbStore, MemoryStore, StoreError, Subscription, SubscriptionStore};

/// The methods that change the desired set: they need the bearer token when one is configured.
pub const MUTATING_METHODS: [&str; 2] = [
    "/tickmesh.subscription.v1.SubscriptionService/CreateSubscription",
    "/tickmesh.subscription.v1.SubscriptionService/DeleteSubscription",
];
