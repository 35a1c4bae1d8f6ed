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

use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tickmesh_bus::{BusError, Inbox, LiveBus, Received};
use tickmesh_domain::FeedGap;
use tokio_util::sync::DropGuard;

use super::clients::{Client, Clients, Join};
pub use super::clients::{TickEvent, TickItem};
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
    upstream: Arc<Upstream>,
    clients: Arc<Clients>,
    _stop: Arc<DropGuard>,
}

/// How the hub reaches the live bus.
struct Upstream {
    live: Arc<dyn LiveBus>,
    config: HubConfig,
    /// Held while an upstream subscription is being made.
    subscribing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TickHub {
    /// A hub over `live`. Nothing is subscribed until the first client comes.
    pub fn new(live: Arc<dyn LiveBus>, config: HubConfig) -> TickHub {
        let clients = Arc::new(Clients::default());
        let stop = clients.closing().clone().drop_guard();
        TickHub {
            upstream: Arc::new(Upstream {
                live,
                config,
                subscribing: tokio::sync::Mutex::new(()),
            }),
            clients,
            _stop: Arc::new(stop),
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
        let client = match self.clients.join_if_active(Client::new(filter, sender)) {
            Join::Joined(id) => return Ok(self.stream(id, inbox)),
            Join::Inactive(client) => client,
            Join::Closed => return Err(HubError::Closed),
        };
        // One subscription at a time; whoever waited here finds the upstream active.
        let _subscribing = self.upstream.subscribing.lock().await;
        let client = match self.clients.join_if_active(client) {
            Join::Joined(id) => return Ok(self.stream(id, inbox)),
            Join::Inactive(client) => client,
            Join::Closed => return Err(HubError::Closed),
        };
        let config = &self.upstream.config;
        // Gaps travel on their own channels beside the events (see `routing::gap_channel`).
        let mut patterns = config.scope.patterns();
        patterns.push(tickmesh_proto::routing::GAP_PATTERN.to_owned());
        let upstream = self
            .upstream
            .live
            .subscribe(&patterns, config.upstream_capacity)
            .await?;
        let id = self.clients.activate_with(client).ok_or(HubError::Closed)?;
        tokio::spawn(dispatch::run(
            upstream,
            Arc::clone(&self.clients),
            config.idle_unsubscribe,
        ));
        Ok(self.stream(id, inbox))
    }

    fn stream(&self, id: u64, inbox: Inbox<TickItem>) -> TickStream {
        TickStream {
            id,
            inbox,
            clients: Arc::clone(&self.clients),
        }
    }

    /// Tells every client whose filter matches the gap's exchange and market about a feed
    /// outage (the composition root feeds ingestion's gap reports here). Returns how many
    /// clients it was queued for. A client whose buffer is full gets it counted as lagged.
    pub fn publish_gap(&self, gap: &FeedGap) -> usize {
        self.clients.deliver_gap(gap)
    }

    /// Counters so far.
    pub fn stats(&self) -> HubStats {
        let counts = self.clients.counts();
        HubStats {
            clients: counts.clients,
            decoded: counts.decoded,
            undecodable: counts.undecodable,
            upstream_missed: counts.upstream_missed,
            client_lagged: counts.client_lagged,
            upstream_active: counts.active,
            upstream_subscriptions: counts.subscriptions,
        }
    }

    /// Stops the dispatcher and ends every client's stream once it has read what is queued;
    /// later subscriptions fail with [`HubError::Closed`]. Call it on shutdown, since servers
    /// wait for open streams to end before they stop.
    pub fn close(&self) {
        self.clients.close();
    }

    /// Whether the hub is closed (by [`TickHub::close`] or because the live bus ended).
    pub fn is_closed(&self) -> bool {
        self.clients.is_closed()
    }
}

/// One client's view of the hub. Dropping it removes the client.
#[derive(Debug)]
pub struct TickStream {
    id: u64,
    inbox: Inbox<TickItem>,
    clients: Arc<Clients>,
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
                self.clients.client_lagged(n);
                TickItem::Lagged(n)
            }
        }
    }
}

impl Drop for TickStream {
    fn drop(&mut self) {
        self.clients.leave(self.id);
    }
}
