//! The tick hub: one live bus subscription per process, fanned out to any number of stream
//! clients, each behind its own bounded [`Inbox`].
//!
//! Why one shared upstream subscription rather than one per client: a Redis `PSUBSCRIBE` per
//! client costs a connection each, and every payload would be decoded once per client. Here the
//! [dispatcher](super::dispatch) decodes each payload once, shares it as an `Arc<MarketEvent>`
//! and pushes it into the inbox of every client whose [`TickFilter`] matches. A push never
//! waits: a full inbox drops the event and counts it, and the client later reads a
//! [`TickItem::Lagged`] marker at the place events went missing. So a slow client costs at most
//! its capacity in memory and never slows the dispatcher or any other client
//! (docs/architecture.md).
//!
//! The upstream subscription exists only while someone listens: the first client makes it (and
//! waits for it, so what is published after it subscribed reaches it), and the dispatcher drops
//! it once no client has been connected for [`HubConfig::idle_unsubscribe`]. Without clients,
//! the whole live feed would otherwise cross from Redis into this process only to be thrown
//! away, costing this process and Redis CPU for nothing (docs/benchmarks.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::Stream;
use tickmesh_bus::{BusError, Inbox, InboxSender, LiveBus, Received};
use tickmesh_domain::{FeedGap, MarketEvent};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::dispatch;
use super::filter::TickFilter;

/// How the hub subscribes upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// What the hub subscribes to on the live bus; clients only ever see events inside it.
    /// All live channels by default.
    pub scope: TickFilter,
    /// Capacity of the one upstream inbox. The dispatcher drains it quickly; it only fills
    /// when the process is starved, and then every client gets a lagged marker.
    pub upstream_capacity: usize,
    /// How long the upstream subscription outlives the last client, so clients that
    /// reconnect at once do not make the hub unsubscribe and subscribe again.
    pub idle_unsubscribe: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            scope: TickFilter::all(),
            upstream_capacity: 16_384,
            idle_unsubscribe: Duration::from_secs(30),
        }
    }
}

/// What a stream client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickItem {
    /// A live event matching the client's filter, shared with the other clients.
    Event(Arc<MarketEvent>),
    /// This many events were dropped here, because the client's buffer was full or the hub
    /// itself fell behind the bus (then the count covers every channel, so it is an upper
    /// bound of what matched the client's filter).
    Lagged(u64),
    /// Ingestion reported an outage of a feed the client's filter matches.
    Gap(FeedGap),
}

/// Why the hub cannot serve a client.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The live bus refused the hub's subscription.
    #[error("subscribing to the live bus failed")]
    Subscribe(#[from] BusError),
    /// The hub was closed, or its live bus subscription ended.
    #[error("the tick hub is closed")]
    Closed,
}

/// Counters of a hub, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Connected clients.
    pub clients: usize,
    /// Events decoded and offered to the clients.
    pub decoded: u64,
    /// Payloads that were not valid market events (counted and logged, never sent).
    pub undecodable: u64,
    /// Messages the hub's own upstream inbox dropped because the dispatcher fell behind.
    pub upstream_missed: u64,
    /// Events dropped from full client buffers, counted as each client reads its lagged
    /// marker.
    pub client_lagged: u64,
    /// Whether the hub holds its upstream subscription now.
    pub upstream_active: bool,
    /// Upstream subscriptions made so far (one per stretch with clients).
    pub upstream_subscriptions: u64,
}

/// Fans live market events out to stream clients. Cloning gives another handle to the same
/// hub; the dispatcher stops when the last handle is dropped or [`TickHub::close`] is called.
#[derive(Debug, Clone)]
pub struct TickHub {
    shared: Arc<Shared>,
    _stop: Arc<DropGuard>,
}

impl TickHub {
    /// A hub over `live`. Nothing is subscribed until the first client comes.
    pub fn new(live: Arc<dyn LiveBus>, config: HubConfig) -> TickHub {
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry::default()),
            live,
            config,
            subscribing: tokio::sync::Mutex::new(()),
            subscriptions: AtomicU64::new(0),
            decoded: AtomicU64::new(0),
            undecodable: AtomicU64::new(0),
            upstream_missed: AtomicU64::new(0),
            client_lagged: AtomicU64::new(0),
            cancel: cancel.clone(),
        });
        TickHub {
            shared,
            _stop: Arc::new(cancel.drop_guard()),
        }
    }

    /// Adds a client that receives the events matching `filter`, buffering at most `capacity`
    /// of them (at least 1) before it starts losing events to lagged markers. When the hub
    /// holds no upstream subscription this makes one first, so events published after this
    /// returns reach the client; it fails if the live bus refuses.
    pub async fn subscribe(
        &self,
        filter: TickFilter,
        capacity: usize,
    ) -> Result<TickStream, HubError> {
        let (sender, inbox) = Inbox::new(capacity);
        let client = Client {
            id: 0,
            filter,
            sender,
        };
        let client = match self.shared.join_if_active(client)? {
            Ok(id) => return Ok(self.stream(id, inbox)),
            Err(client) => client,
        };
        // One subscription at a time; whoever waited here finds the upstream active.
        let _subscribing = self.shared.subscribing.lock().await;
        let client = match self.shared.join_if_active(client)? {
            Ok(id) => return Ok(self.stream(id, inbox)),
            Err(client) => client,
        };
        let config = &self.shared.config;
        // Gaps travel on their own channels beside the events (see `routing::gap_channel`).
        let mut patterns = config.scope.patterns();
        patterns.push(tickmesh_proto::routing::GAP_PATTERN.to_owned());
        let upstream = self
            .shared
            .live
            .subscribe(&patterns, config.upstream_capacity)
            .await?;
        let id = {
            let mut registry = self.shared.registry();
            if registry.closed {
                return Err(HubError::Closed);
            }
            registry.active = true;
            registry.add(client)
        };
        self.shared.subscriptions.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(dispatch::run(upstream, Arc::clone(&self.shared)));
        Ok(self.stream(id, inbox))
    }

    fn stream(&self, id: u64, inbox: Inbox<TickItem>) -> TickStream {
        TickStream {
            id,
            inbox,
            shared: Arc::clone(&self.shared),
        }
    }

    /// Tells every client whose filter matches the gap's exchange and market about a feed
    /// outage (the composition root feeds ingestion's gap reports here). Returns how many
    /// clients it was queued for. A client whose buffer is full gets it counted as lagged.
    pub fn publish_gap(&self, gap: &FeedGap) -> usize {
        self.shared.deliver_gap(gap)
    }

    /// Counters so far.
    pub fn stats(&self) -> HubStats {
        // One lock for both fields: a second `registry()` in this expression would wait on
        // the first guard, which lives to the end of the statement.
        let (clients, upstream_active) = {
            let registry = self.shared.registry();
            (registry.clients.len(), registry.active)
        };
        HubStats {
            clients,
            decoded: self.shared.decoded.load(Ordering::Relaxed),
            undecodable: self.shared.undecodable.load(Ordering::Relaxed),
            upstream_missed: self.shared.upstream_missed.load(Ordering::Relaxed),
            client_lagged: self.shared.client_lagged.load(Ordering::Relaxed),
            upstream_active,
            upstream_subscriptions: self.shared.subscriptions.load(Ordering::Relaxed),
        }
    }

    /// Stops the dispatcher and ends every client's stream once it has read what is queued;
    /// later subscriptions fail with [`HubError::Closed`]. Call it on shutdown, since servers
    /// wait for open streams to end before they stop.
    pub fn close(&self) {
        self.shared.cancel.cancel();
        self.shared.close();
    }

    /// Whether the hub is closed (by [`TickHub::close`] or because the live bus ended).
    pub fn is_closed(&self) -> bool {
        self.shared.registry().closed
    }
}

/// One client's view of the hub. Dropping it removes the client.
#[derive(Debug)]
pub struct TickStream {
    id: u64,
    inbox: Inbox<TickItem>,
    shared: Arc<Shared>,
}

impl TickStream {
    /// The next item; `None` once the hub is closed and everything queued was read.
    pub async fn recv(&mut self) -> Option<TickItem> {
        let received = self.inbox.recv().await;
        received.map(|r| self.flatten(r))
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Option<TickItem> {
        let received = self.inbox.try_recv();
        received.map(|r| self.flatten(r))
    }

    /// Items waiting now (never more than the capacity), and items dropped for this client
    /// since it subscribed.
    pub fn stats(&self) -> (usize, u64) {
        self.inbox.stats()
    }

    /// The items as a [`Stream`], ending when [`TickStream::recv`] would return `None`.
    pub fn into_stream(self) -> impl Stream<Item = TickItem> + Send + 'static {
        futures::stream::unfold(self, |mut s| async move { s.recv().await.map(|i| (i, s)) })
    }

    /// The item a client sees, counting events its full buffer dropped.
    fn flatten(&self, received: Received<TickItem>) -> TickItem {
        match received {
            Received::Item(item) => item,
            Received::Lagged(n) => {
                self.shared.client_lagged.fetch_add(n, Ordering::Relaxed);
                TickItem::Lagged(n)
            }
        }
    }
}

impl Drop for TickStream {
    fn drop(&mut self) {
        let id = self.id;
        self.shared.registry().clients.retain(|c| c.id != id);
    }
}

/// State the hub handles, the client streams and the dispatcher share.
pub(super) struct Shared {
    registry: Mutex<Registry>,
    live: Arc<dyn LiveBus>,
    pub(super) config: HubConfig,
    /// Held while an upstream subscription is being made.
    subscribing: tokio::sync::Mutex<()>,
    subscriptions: AtomicU64,
    pub(super) decoded: AtomicU64,
    pub(super) undecodable: AtomicU64,
    pub(super) upstream_missed: AtomicU64,
    pub(super) client_lagged: AtomicU64,
    pub(super) cancel: CancellationToken,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("registry", &self.registry)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    clients: Vec<Client>,
    /// A dispatcher runs on an upstream subscription. Clients are only added while it does.
    active: bool,
    closed: bool,
}

impl Registry {
    fn add(&mut self, mut client: Client) -> u64 {
        self.next_id += 1;
        client.id = self.next_id;
        self.clients.push(client);
        self.next_id
    }
}

#[derive(Debug)]
struct Client {
    id: u64,
    filter: TickFilter,
    sender: InboxSender<TickItem>,
}

impl Shared {
    /// Every update leaves the registry consistent, so a lock poisoned by a panic elsewhere
    /// is still safe to use.
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether any client is connected (the dispatcher skips decoding when none is).
    pub(super) fn has_clients(&self) -> bool {
        !self.registry().clients.is_empty()
    }

    /// Adds `client` if the upstream subscription is active (`Ok(Ok(id))`); hands it back
    /// when there is none (`Ok(Err(client))`).
    fn join_if_active(&self, client: Client) -> Result<Result<u64, Client>, HubError> {
        let mut registry = self.registry();
        if registry.closed {
            return Err(HubError::Closed);
        }
        if registry.active {
            Ok(Ok(registry.add(client)))
        } else {
            Ok(Err(client))
        }
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

    /// Queues `event` for every matching client, forgetting clients that went away.
    /// Queues `gap` for every client whose filter matches it; returns how many.
    pub(super) fn deliver_gap(&self, gap: &FeedGap) -> usize {
        let mut registry = self.registry();
        let mut queued = 0;
        registry.clients.retain(|c| {
            if !c.filter.matches_gap(gap) {
                return true;
            }
            queued += 1;
            c.sender.push(TickItem::Gap(*gap))
        });
        queued
    }

    pub(super) fn deliver(&self, event: &Arc<MarketEvent>) {
        self.registry().clients.retain(|c| {
            !c.filter.matches(event) || c.sender.push(TickItem::Event(Arc::clone(event)))
        });
    }

    /// Tells every client that the hub itself missed `missed` messages. The marker travels
    /// as an item so it lands where the messages went missing; a client whose buffer is full
    /// at that moment has it folded into its own lagged count (as one more dropped item), so
    /// it still learns that events are missing there.
    pub(super) fn lagged(&self, missed: u64) {
        self.registry()
            .clients
            .retain(|c| c.sender.push(TickItem::Lagged(missed)));
    }

    /// Drops every client's sender, so each stream ends after its queued items, and refuses
    /// new clients.
    pub(super) fn close(&self) {
        let mut registry = self.registry();
        registry.closed = true;
        registry.active = false;
        registry.clients.clear();
    }
}
