//! The client registry the hub and its dispatcher share: who is connected with which filter,
//! whether an upstream subscription is active, and the hub's counters.
//!
//! Clients are indexed by exchange and market ([`super::index`]), so an event costs the
//! clients that may want it, not every client. Both sides reach it only through its methods, so the dispatcher never depends on how the
//! hub admits clients and the hub never depends on how events reach them. Every update leaves
//! the registry consistent under one lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tickmesh_bus::Position;
use tickmesh_domain::{FeedGap, MarketEvent};
use tokio_util::sync::CancellationToken;

pub(super) use super::index::Client;
use super::index::ClientIndex;

/// A live event with its place in the durable stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickEvent {
    /// Where the publisher appended it; `None` for a live message without a position (from
    /// a publisher that does not frame them).
    pub position: Option<Position>,
    /// The event.
    pub event: MarketEvent,
}

impl std::ops::Deref for TickEvent {
    type Target = MarketEvent;

    fn deref(&self) -> &MarketEvent {
        &self.event
    }
}

/// What a stream client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickItem {
    /// A live event matching the client's filter, shared with the other clients.
    Event(Arc<TickEvent>),
    /// This many events were dropped here, because the client's buffer was full or the hub
    /// itself fell behind the bus (then the count covers every channel, so it is an upper
    /// bound of what matched the client's filter).
    Lagged(u64),
    /// Ingestion reported an outage of a feed the client's filter matches. Shared like
    /// events, which also keeps every item one pointer wide: a client's buffer of thousands of
    /// items costs 24 bytes an item, not the size of the largest variant.
    Gap(Arc<FeedGap>),
}

/// What [`Clients::join_if_active`] did with a client.
#[derive(Debug)]
pub(super) enum Join {
    /// Added under this id: an upstream subscription is active.
    Joined(u64),
    /// Not added: no upstream subscription is active, so the caller makes one.
    Inactive(Client),
    /// The hub is closed.
    Closed,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    clients: ClientIndex,
    /// A dispatcher runs on an upstream subscription. Clients are only added while it does.
    active: bool,
    closed: bool,
}

impl Registry {
    fn add(&mut self, client: Client) -> u64 {
        self.next_id += 1;
        self.clients.insert(self.next_id, client);
        self.next_id
    }
}

/// The registry, the hub's counters and the signal that stops the dispatcher.
#[derive(Debug, Default)]
pub(super) struct Clients {
    registry: Mutex<Registry>,
    subscriptions: AtomicU64,
    decoded: AtomicU64,
    undecodable: AtomicU64,
    upstream_missed: AtomicU64,
    client_lagged: AtomicU64,
    cancel: CancellationToken,
}

/// A snapshot of the registry and its counters.
#[derive(Debug, Clone, Copy)]
pub(super) struct Counts {
    pub(super) clients: usize,
    pub(super) active: bool,
    pub(super) subscriptions: u64,
    pub(super) decoded: u64,
    pub(super) undecodable: u64,
    pub(super) upstream_missed: u64,
    pub(super) client_lagged: u64,
}

impl Clients {
    /// Every update leaves the registry consistent, so a lock poisoned by a panic elsewhere
    /// is still safe to use.
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancelled when the hub closes; the dispatcher stops on it.
    pub(super) fn closing(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Whether any client is connected (the dispatcher skips decoding when none is).
    pub(super) fn has_clients(&self) -> bool {
        !self.registry().clients.is_empty()
    }

    /// Whether the registry refuses clients for good.
    pub(super) fn is_closed(&self) -> bool {
        self.registry().closed
    }

    /// Adds `client` if the upstream subscription is active; hands it back when there is
    /// none.
    pub(super) fn join_if_active(&self, client: Client) -> Join {
        let mut registry = self.registry();
        if registry.closed {
            Join::Closed
        } else if registry.active {
            Join::Joined(registry.add(client))
        } else {
            Join::Inactive(client)
        }
    }

    /// Marks a new upstream subscription active and adds its first client; `None` once
    /// the registry is closed.
    pub(super) fn activate_with(&self, client: Client) -> Option<u64> {
        let mut registry = self.registry();
        if registry.closed {
            return None;
        }
        registry.active = true;
        self.subscriptions.fetch_add(1, Ordering::Relaxed);
        Some(registry.add(client))
    }

    /// Removes the client `id` (its stream was dropped).
    pub(super) fn leave(&self, id: u64) {
        self.registry().clients.remove(id);
    }

    /// Marks the upstream inactive if there is still no client; the dispatcher then drops
    /// it. Under the registry lock, so a client joins either before (and the dispatcher
    /// stays) or after (and makes a new subscription).
    pub(super) fn retire_if_idle(&self) -> bool {
        let mut registry = self.registry();
        if registry.clients.is_empty() {
            registry.active = false;
            true
        } else {
            false
        }
    }

    /// Queues `gap` for every client whose filter matches it; returns how many.
    pub(super) fn deliver_gap(&self, gap: &FeedGap) -> usize {
        let mut queued = 0;
        let gap = Arc::new(*gap);
        self.registry()
            .clients
            .offer_feed(gap.exchange, gap.market, |c| {
                queued += 1;
                c.sender.push(TickItem::Gap(Arc::clone(&gap)))
            });
        queued
    }

    /// Counts a decoded event and queues it for every matching client, forgetting clients
    /// that went away.
    pub(super) fn deliver(&self, event: TickEvent) {
        self.decoded.fetch_add(1, Ordering::Relaxed);
        let event = Arc::new(event);
        let kind = event.kind();
        self.registry()
            .clients
            .offer_feed(event.exchange, event.market, |c| {
                !c.filter.wants_kind(kind) || c.sender.push(TickItem::Event(Arc::clone(&event)))
            });
    }

    /// Counts a payload that was not a market event; returns the total so far.
    pub(super) fn undecodable(&self) -> u64 {
        self.undecodable.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Tells every client that the hub itself missed `missed` messages; returns the total
    /// missed so far. The marker travels as an item so it lands where the messages went
    /// missing; a client whose buffer is full at that moment has it folded into its own
    /// lagged count (as one more dropped item), so it still learns that events are missing.
    pub(super) fn lagged(&self, missed: u64) -> u64 {
        let total = self.upstream_missed.fetch_add(missed, Ordering::Relaxed) + missed;
        self.registry()
            .clients
            .offer_all(|c| c.sender.push(TickItem::Lagged(missed)));
        total
    }

    /// Counts events a client's full buffer dropped, as the client reads its marker.
    pub(super) fn client_lagged(&self, dropped: u64) {
        self.client_lagged.fetch_add(dropped, Ordering::Relaxed);
    }

    /// Stops the dispatcher, drops every client's sender (so each stream ends after its
    /// queued items) and refuses new clients.
    pub(super) fn close(&self) {
        self.cancel.cancel();
        let mut registry = self.registry();
        registry.closed = true;
        registry.active = false;
        registry.clients.clear();
    }

    /// The registry's size and counters now.
    pub(super) fn counts(&self) -> Counts {
        // One lock for both registry fields.
        let (clients, active) = {
            let registry = self.registry();
            (registry.clients.len(), registry.active)
        };
        Counts {
            clients,
            active,
            subscriptions: self.subscriptions.load(Ordering::Relaxed),
            decoded: self.decoded.load(Ordering::Relaxed),
            undecodable: self.undecodable.load(Ordering::Relaxed),
            upstream_missed: self.upstream_missed.load(Ordering::Relaxed),
            client_lagged: self.client_lagged.load(Ordering::Relaxed),
        }
    }
}
