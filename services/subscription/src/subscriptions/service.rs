//! [`Subscriptions`]: the service core behind `SubscriptionService`, free of tonic and protobuf.
//!
//! It validates markets against the [`MarketCatalog`], changes the [`SubscriptionStore`], and
//! tells watchers (ingestion) about every change through a bounded broadcast.
//!
//! Ordering: one lock is held around "change the store, update the set this replica knows,
//! then broadcast", and around "subscribe to the broadcast, then copy the known set". So a
//! watcher's snapshot plus the changes after it are exactly the history: no change is missed
//! and none is seen twice, and changes arrive in the order the store applied them. Mutations
//! are rare (an operator's commands), so serialising them costs nothing that matters. A watch
//! holds the lock only to subscribe and to take a reference to the known set (copied on the
//! next write while a watcher still holds it), never across a database query, so a flood of
//! watches cannot hold up Create and Delete. The set is read from the store once, by the first
//! watch or sync.
//!
//! A watcher that falls more than the broadcast's capacity behind gets
//! [`WatchError::Lagged`] and its watch ends: it must watch again for a fresh snapshot rather
//! than carry on with a set that silently lost changes.
//!
//! The broadcast reaches the watchers of this process. Replicas sharing one database learn of
//! each other's changes through [`Subscriptions::sync_from_store`], which the composition root
//! runs every few seconds: it compares the store with the set this replica last knew and
//! broadcasts the difference. A watcher's snapshot is the set as this replica knew it, so it
//! sees another replica's change once too: as a change, when the sync finds it.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::UnknownMarkets;
use tokio::sync::{Mutex, broadcast};
use tokio_util::sync::CancellationToken;

use super::catalog::MarketCatalog;
use super::store::{Added, StoreError, Subscription, SubscriptionStore};

/// Changes buffered per watcher before it counts as fallen behind.
pub const DEFAULT_WATCH_CAPACITY: usize = 1024;

/// One change to the desired set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A subscription was created.
    Added(Subscription),
    /// A subscription was removed.
    Removed(Subscription),
}

impl Change {
    /// The subscription added or removed.
    pub fn subscription(&self) -> Subscription {
        match self {
            Change::Added(s) | Change::Removed(s) => *s,
        }
    }
}

/// A request the service could not carry out.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// The exchange asked for does not list the market.
    #[error(transparent)]
    NotListed(#[from] UnknownMarkets),
    /// No exchange lists the market.
    #[error("{market} is not listed on upbit, bithumb or korbit; check the symbol")]
    ListedNowhere {
        /// The market asked for.
        market: Market,
    },
    /// The store failed; the request may succeed later.
    #[error("subscription store unavailable")]
    Store(#[from] StoreError),
}

/// Why a watch ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// The watcher did not keep up and changes were dropped for it.
    #[error("watch fell behind by {missed} changes; watch again")]
    Lagged {
        /// How many changes it missed.
        missed: u64,
    },
}

/// The subscription service core (see the module docs). Share it behind an [`Arc`].
#[derive(Debug)]
pub struct Subscriptions {
    store: Arc<dyn SubscriptionStore>,
    catalog: RwLock<Arc<MarketCatalog>>,
    changes: broadcast::Sender<Change>,
    /// Held around mutate-then-broadcast and subscribe-then-snapshot; guards the set this
    /// replica knows the store to hold (`None` until the first watch or sync reads it).
    order: Mutex<Option<Arc<BTreeSet<Subscription>>>>,
    shutdown: CancellationToken,
}

impl Subscriptions {
    /// A service over `store`, checking markets against `catalog`.
    pub fn new(store: Arc<dyn SubscriptionStore>, catalog: MarketCatalog) -> Subscriptions {
        Subscriptions {
            store,
            catalog: RwLock::new(Arc::new(catalog)),
            changes: broadcast::channel(DEFAULT_WATCH_CAPACITY).0,
            order: Mutex::new(None),
            shutdown: CancellationToken::new(),
        }
    }

    /// Buffers `capacity` changes per watcher (at least one) instead of the default.
    pub fn with_watch_capacity(mut self, capacity: usize) -> Subscriptions {
        self.changes = broadcast::channel(capacity.max(1)).0;
        self
    }

    /// Ends every watch when `token` is cancelled (also done by [`Subscriptions::shutdown`]).
    pub fn with_shutdown(mut self, token: CancellationToken) -> Subscriptions {
        self.shutdown = token;
        self
    }

    /// Ends every watch, so a server draining its calls is not held up by them.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Watches open now (a watch closes when its [`Watch`] is dropped, as when a gRPC client
    /// goes away).
    pub fn watchers(&self) -> usize {
        self.changes.receiver_count()
    }

    /// The catalog markets are checked against.
    pub fn catalog(&self) -> Arc<MarketCatalog> {
        // A panic elsewhere cannot leave an `Arc` half-written, so a poisoned lock is usable.
        self.catalog
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Replaces the catalog (after a refresh of the exchanges' market lists).
    pub fn set_catalog(&self, catalog: MarketCatalog) {
        *self
            .catalog
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(catalog);
    }

    /// Subscribes to `market` on `exchange`, or on every exchange listing it when `None`.
    /// Idempotent: existing subscriptions come back unchanged with `created == false`.
    pub async fn create(
        &self,
        exchange: Option<Exchange>,
        market: Market,
    ) -> Result<Vec<Added>, SubscriptionError> {
        let catalog = self.catalog();
        let targets = match exchange {
            Some(exchange) => {
                catalog.check(exchange, market)?;
                vec![exchange]
            }
            None => catalog.exchanges_listing(market),
        };
        if targets.is_empty() {
            return Err(SubscriptionError::ListedNowhere { market });
        }
        let pairs: Vec<(Exchange, Market)> = targets.into_iter().map(|e| (e, market)).collect();
        let mut known = self.order.lock().await;
        let added = self.store.add(&pairs).await?;
        for a in added.iter().filter(|a| a.created) {
            tracing::info!(exchange = %a.subscription.exchange, market = %market, "subscription created");
            if let Some(known) = known.as_mut() {
                Arc::make_mut(known).insert(a.subscription);
            }
            // An error only means nobody is watching.
            let _ = self.changes.send(Change::Added(a.subscription));
        }
        Ok(added)
    }

    /// Removes `market` on `exchange`, or on every exchange when `None`; returns what was
    /// removed (nothing when there was nothing to remove). Markets are not checked against the
    /// catalog, so a market an exchange has since delisted can still be removed.
    pub async fn delete(
        &self,
        exchange: Option<Exchange>,
        market: Market,
    ) -> Result<Vec<Subscription>, SubscriptionError> {
        let mut known = self.order.lock().await;
        let removed = self.store.remove(exchange, market).await?;
        for s in &removed {
            tracing::info!(exchange = %s.exchange, market = %s.market, "subscription removed");
            if let Some(known) = known.as_mut() {
                Arc::make_mut(known).remove(s);
            }
            let _ = self.changes.send(Change::Removed(*s));
        }
        Ok(removed)
    }

    /// Every subscription, or those of `exchange`, sorted by exchange then market.
    pub async fn list(
        &self,
        exchange: Option<Exchange>,
    ) -> Result<Vec<Subscription>, SubscriptionError> {
        Ok(self.store.list(exchange).await?)
    }

    /// Broadcasts what other replicas changed in the shared store since the last sync (the
    /// first sync only learns the set). Returns how many changes it broadcast.
    pub async fn sync_from_store(&self) -> Result<usize, SubscriptionError> {
        let mut known = self.order.lock().await;
        let now: BTreeSet<Subscription> = self.store.list(None).await?.into_iter().collect();
        let Some(before) = known.replace(Arc::new(now.clone())) else {
            return Ok(0);
        };
        let mut changes = 0;
        for s in now.difference(&before) {
            tracing::info!(exchange = %s.exchange, market = %s.market, "subscription created by another replica");
            let _ = self.changes.send(Change::Added(*s));
            changes += 1;
        }
        for s in before.difference(&now) {
            tracing::info!(exchange = %s.exchange, market = %s.market, "subscription removed by another replica");
            let _ = self.changes.send(Change::Removed(*s));
            changes += 1;
        }
        Ok(changes)
    }

    /// The current set (of `exchange`, or all) and a [`Watch`] of every later change to it.
    pub async fn watch(
        &self,
        exchange: Option<Exchange>,
    ) -> Result<(Vec<Subscription>, Watch), SubscriptionError> {
        let (known, changes) = {
            let mut known = self.order.lock().await;
            let set = match known.as_ref() {
                Some(set) => Arc::clone(set),
                // The first watch or sync reads the store, under the lock, once.
                None => Arc::clone(
                    known.insert(Arc::new(self.store.list(None).await?.into_iter().collect())),
                ),
            };
            (set, self.changes.subscribe())
        };
        // Sorted by exchange then market, as the store lists them.
        let snapshot = known
            .iter()
            .filter(|s| exchange.is_none_or(|e| s.exchange == e))
            .copied()
            .collect();
        let watch = Watch {
            exchange,
            changes,
            shutdown: self.shutdown.clone(),
            ended: false,
        };
        Ok((snapshot, watch))
    }
}

/// The changes after a [`Subscriptions::watch`] snapshot, for one exchange or all.
#[derive(Debug)]
pub struct Watch {
    exchange: Option<Exchange>,
    changes: broadcast::Receiver<Change>,
    shutdown: CancellationToken,
    ended: bool,
}

impl Watch {
    /// The next change; `None` once the service shut down or after an error. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Change, WatchError>> {
        while !self.ended {
            let received = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => None,
                received = self.changes.recv() => Some(received),
            };
            match received {
                Some(Ok(change)) => {
                    if self
                        .exchange
                        .is_none_or(|e| e == change.subscription().exchange)
                    {
                        return Some(Ok(change));
                    }
                }
                Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    self.ended = true;
                    return Some(Err(WatchError::Lagged { missed }));
                }
                Some(Err(broadcast::error::RecvError::Closed)) | None => self.ended = true,
            }
        }
        None
    }
}
