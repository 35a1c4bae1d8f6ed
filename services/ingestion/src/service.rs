//! The ingestion service: one feed per configured exchange (or, replicated, one per unit
//! this replica holds), all feeding one publisher.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tickmesh_bus::{EventPublisher, LeaseStore};
use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::{
    EdgeLimits, Endpoints, FeedConfig, FeedControl, FeedHandle, FeedOutput, FeedSnapshot,
    RestClient, RestError, Resume, TradeHistory, protocol_for, spawn_feed,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::grpc::{FeedEntry, FeedStatuses, LeaseView};
use crate::ownership::{Coordinator, Fences, LeaseCounters, OwnershipConfig, all_units};
use crate::publisher::{PublisherConfig, run_publisher};
use crate::stats::{PublisherSnapshot, PublisherStats};

/// One exchange to collect from.
#[derive(Debug, Clone)]
pub struct ExchangeFeed {
    /// Which exchange.
    pub exchange: Exchange,
    /// Where it is reached (production, or a simulator).
    pub endpoints: Endpoints,
}

/// Settings of the ingestion service.
#[derive(Debug, Clone)]
pub struct IngestionConfig {
    /// The exchanges to connect to.
    pub exchanges: Vec<ExchangeFeed>,
    /// Markets collected on every exchange until subscriptions say otherwise.
    pub markets: BTreeSet<Market>,
    /// Capacity of the channel from the feeds to the publisher; when it is full the feeds
    /// wait (see `tickmesh_feeds::feed`).
    pub feed_channel: usize,
    /// The publisher.
    pub publisher: PublisherConfig,
    /// Trades of this long before a feed's first connection are recovered from REST, so a
    /// restarted process fills its downtime (storage drops the repeats).
    pub startup_backfill: std::time::Duration,
    /// What every frame and event from an exchange must satisfy to be forwarded: the frame
    /// size limit, the order book level cap and the clock skew allowed.
    pub edge: EdgeLimits,
    /// How long a feed waits after reading every frame its socket holds before it reads
    /// again (zero: every frame as it arrives); see `tickmesh_feeds::FeedConfig::read_pause`.
    pub read_pause: std::time::Duration,
    /// Replicated ingestion: units shared with other replicas through leases. `None` runs
    /// one feed per exchange and needs no lease store.
    pub ownership: Option<OwnershipConfig>,
}

impl Default for IngestionConfig {
    fn default() -> Self {
        IngestionConfig {
            exchanges: Exchange::ALL
                .into_iter()
                .map(|exchange| ExchangeFeed {
                    exchange,
                    endpoints: Endpoints::production(exchange),
                })
                .collect(),
            markets: BTreeSet::new(),
            feed_channel: 8_192,
            publisher: PublisherConfig::default(),
            startup_backfill: std::time::Duration::from_secs(60),
            edge: EdgeLimits::default(),
            read_pause: std::time::Duration::ZERO,
            ownership: None,
        }
    }
}

/// Starts feeds on the publisher's channel: the exchanges' settings and REST clients.
pub(crate) struct FeedFactory {
    templates: BTreeMap<Exchange, (FeedConfig, Arc<dyn TradeHistory>)>,
    out: mpsc::Sender<FeedOutput>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for FeedFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedFactory")
            .field("exchanges", &self.templates.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl FeedFactory {
    /// Starts a feed of `exchange` (idle until given markets) that resumes `resume`, and the
    /// token that stops it (also stopped by ingestion's shutdown); `None` for an exchange
    /// that is not configured.
    pub(crate) fn spawn(
        &self,
        exchange: Exchange,
        resume: BTreeMap<Market, Resume>,
    ) -> Option<(FeedHandle, CancellationToken)> {
        let (template, history) = self.templates.get(&exchange)?;
        let cancel = self.shutdown.child_token();
        let mut config = template.clone();
        config.resume = resume;
        let feed = spawn_feed(
            config,
            protocol_for(exchange),
            Arc::clone(history),
            self.out.clone(),
            cancel.clone(),
        );
        Some((feed, cancel))
    }

    /// Outputs waiting in the publisher's channel now.
    pub(crate) fn queued(&self) -> usize {
        self.out.max_capacity() - self.out.capacity()
    }
}

/// The index of the first of `tasks` to end, and how it ended (its handle stays in place,
/// finished: it must not be awaited again).
async fn first_to_end(
    tasks: &mut [(String, JoinHandle<()>)],
) -> (usize, Result<(), tokio::task::JoinError>) {
    if tasks.is_empty() {
        return std::future::pending().await;
    }
    std::future::poll_fn(|cx| {
        for (index, (_, task)) in tasks.iter_mut().enumerate() {
            if let std::task::Poll::Ready(outcome) = std::pin::Pin::new(task).poll(cx) {
                return std::task::Poll::Ready((index, outcome));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Starting or running ingestion failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestionError {
    /// One of ingestion's tasks ended before it was asked to stop.
    #[error("the {task} task ended unexpectedly")]
    TaskEnded {
        /// Which (`upbit feed`, `publisher`, `subscription follower`...).
        task: String,
        /// How, when it panicked.
        #[source]
        source: Option<tokio::task::JoinError>,
    },
    /// An exchange's REST base URL is unusable.
    #[error("cannot set up the {exchange} rest client")]
    Rest {
        /// The exchange.
        exchange: Exchange,
        /// Why.
        #[source]
        source: RestError,
    },
}

/// The running ingestion service.
#[derive(Debug)]
pub struct Ingestion {
    /// The feeds of a single ingestion, one per exchange (none when replicated: the
    /// coordinator owns the units' feeds).
    feeds: Vec<(Exchange, FeedHandle)>,
    /// The desired markets per exchange that the feeds (or the units) follow.
    desired: Vec<(Exchange, FeedControl)>,
    statuses: FeedStatuses,
    stats: Arc<PublisherStats>,
    publisher: JoinHandle<()>,
    /// Tasks that steer the feeds (following the subscription service, holding leases), by
    /// name.
    helpers: Vec<(String, JoinHandle<()>)>,
    /// When replicated: who holds which unit, and this replica's lease changes.
    leases: Option<(LeaseView, Arc<LeaseCounters>)>,
    shutdown: CancellationToken,
}

impl Ingestion {
    /// Starts the feeds and the publisher (gap markers to `gaps`). Feeds stop when `shutdown`
    /// is cancelled; the publisher then flushes what they handed it and stops. With
    /// `config.ownership`, `leases` must be given: the feeds are the units this replica
    /// holds.
    pub fn start(
        config: IngestionConfig,
        bus: Arc<dyn EventPublisher>,
        gaps: Option<Arc<dyn tickmesh_bus::LiveBus>>,
        leases: Option<Arc<dyn LeaseStore>>,
        shutdown: CancellationToken,
    ) -> Result<Ingestion, IngestionError> {
        let (tx, rx) = mpsc::channel(config.feed_channel.max(1));
        let mut templates = BTreeMap::new();
        for feed in &config.exchanges {
            let history = RestClient::new(feed.exchange, feed.endpoints.rest_url.clone()).map_err(
                |source| IngestionError::Rest {
                    exchange: feed.exchange,
                    source,
                },
            )?;
            let mut feed_config = FeedConfig::new(feed.exchange, feed.endpoints.ws_url.clone());
            feed_config.startup_backfill = config.startup_backfill;
            feed_config.edge = config.edge;
            feed_config.read_pause = config.read_pause;
            let history: Arc<dyn TradeHistory> = Arc::new(history);
            templates.insert(feed.exchange, (feed_config, history));
        }
        let factory = FeedFactory {
            templates,
            out: tx,
            // Replicated, the coordinator stops each unit's feed itself, when its successor
            // is ready: stopping them all at shutdown would leave the markets unwatched
            // during the hand-over. The token still ends every feed when ingestion ends.
            shutdown: if config.ownership.is_some() && leases.is_some() {
                CancellationToken::new()
            } else {
                shutdown.clone()
            },
        };
        let stats = Arc::new(PublisherStats::default());
        let statuses = FeedStatuses::default();
        let exchanges: Vec<Exchange> = config.exchanges.iter().map(|f| f.exchange).collect();
        let mut ingestion = Ingestion {
            feeds: Vec::new(),
            desired: Vec::new(),
            statuses: statuses.clone(),
            stats: Arc::clone(&stats),
            publisher: tokio::spawn(async {}),
            helpers: Vec::new(),
            leases: None,
            shutdown: shutdown.clone(),
        };
        let fences = match (config.ownership, leases) {
            (Some(ownership), Some(store)) => {
                let fences = Arc::new(Fences::new(ownership.shards));
                let units = all_units(&exchanges, ownership.shards);
                let counters = Arc::new(LeaseCounters::default());
                ingestion.desired = exchanges
                    .iter()
                    .map(|&e| {
                        let control = FeedControl::detached();
                        control.set_markets(config.markets.clone());
                        (e, control)
                    })
                    .collect();
                ingestion.leases = Some((
                    LeaseView {
                        member: ownership.member.clone(),
                        store: Arc::clone(&store),
                        units: units.clone(),
                    },
                    Arc::clone(&counters),
                ));
                let coordinator = Coordinator {
                    config: ownership,
                    store,
                    units,
                    fences: Arc::clone(&fences),
                    feeds: factory,
                    desired: ingestion.desired.iter().cloned().collect(),
                    statuses,
                    stats: Arc::clone(&stats),
                    counters,
                };
                ingestion.spawn_helper("lease coordinator", coordinator.run(shutdown));
                Some(fences)
            }
            (ownership, _) => {
                if ownership.is_some() {
                    tracing::warn!(
                        "replicated ingestion needs a lease store; running as a single ingestion"
                    );
                }
                for &exchange in &exchanges {
                    let Some((handle, _)) = factory.spawn(exchange, BTreeMap::new()) else {
                        continue;
                    };
                    handle.set_markets(config.markets.clone());
                    statuses.insert(FeedEntry {
                        exchange,
                        unit: None,
                        status: handle.status(),
                        lease: None,
                    });
                    ingestion.desired.push((exchange, handle.control()));
                    ingestion.feeds.push((exchange, handle));
                }
                // The feeds hold their own senders; the publisher ends when they are gone.
                drop(factory);
                None
            }
        };
        // The publisher ends when every feed has dropped its sender, so it flushes what the
        // feeds produced up to their last moment.
        ingestion.publisher = tokio::spawn(run_publisher(
            rx,
            bus,
            gaps,
            config.publisher,
            stats,
            fences,
            CancellationToken::new(),
        ));
        Ok(ingestion)
    }

    /// Runs `task` as part of ingestion: it must run until ingestion's shutdown, and ending
    /// before it is a failure of the service (see [`Ingestion::run`]).
    pub fn spawn_helper(
        &mut self,
        name: impl Into<String>,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        self.helpers.push((name.into(), tokio::spawn(task)));
    }

    /// Replaces the markets collected on `exchange`.
    pub fn set_markets(&self, exchange: Exchange, markets: BTreeSet<Market>) {
        for (_, control) in self.desired.iter().filter(|(e, _)| *e == exchange) {
            control.set_markets(markets.clone());
        }
    }

    /// The status of every feed of this replica.
    pub fn feeds(&self) -> Vec<FeedSnapshot> {
        self.statuses.snapshots()
    }

    /// The feeds' status, for `IngestionService.ListFeeds`.
    pub fn statuses(&self) -> FeedStatuses {
        self.statuses.clone()
    }

    /// Who holds which unit, when replicated.
    pub fn lease_view(&self) -> Option<LeaseView> {
        self.leases.as_ref().map(|(view, _)| view.clone())
    }

    /// This replica's lease changes, when replicated.
    pub fn lease_counters(&self) -> Option<Arc<LeaseCounters>> {
        self.leases
            .as_ref()
            .map(|(_, counters)| Arc::clone(counters))
    }

    /// Handles that steer the feeds, for [`crate::follow::follow`].
    pub fn controls(&self) -> crate::follow::FeedControls {
        crate::follow::FeedControls(self.desired.clone())
    }

    /// The publisher's counters.
    pub fn publisher_stats(&self) -> PublisherSnapshot {
        self.stats.snapshot()
    }

    /// The publisher's live counters, shared (for metrics read at scrape time).
    pub fn publisher_stats_shared(&self) -> Arc<PublisherStats> {
        Arc::clone(&self.stats)
    }

    /// Runs until shutdown, then waits for the feeds to stop and the publisher to flush what
    /// they handed it. A feed, the publisher or a helper that ends before shutdown (a panic,
    /// say) is a failure: ingestion then stops the rest and returns it.
    pub async fn run(self) -> Result<(), IngestionError> {
        let Ingestion {
            feeds,
            publisher,
            helpers,
            shutdown,
            stats,
            desired,
            ..
        } = self;
        let mut tasks: Vec<(String, JoinHandle<()>)> = Vec::with_capacity(feeds.len() + 1);
        // A feed ends when its desired set's sender is gone: held here until the end.
        let mut controls = Vec::with_capacity(feeds.len());
        for (exchange, feed) in feeds {
            let (task, control) = feed.into_parts();
            tasks.push((format!("{exchange} feed"), task));
            controls.push(control);
        }
        tasks.extend(helpers);
        let mut publisher = publisher;
        let failure = tokio::select! {
            biased;
            () = shutdown.cancelled() => None,
            (index, outcome) = first_to_end(&mut tasks) => {
                // Finished: awaiting it again would panic.
                let (name, _) = tasks.swap_remove(index);
                // Feeds end on shutdown too and may get there first: no failure then.
                if shutdown.is_cancelled() && outcome.is_ok() {
                    None
                } else {
                    Some(IngestionError::TaskEnded {
                        task: name,
                        source: outcome.err(),
                    })
                }
            }
            outcome = &mut publisher => {
                shutdown.cancel();
                return Err(IngestionError::TaskEnded { task: "publisher".to_owned(), source: outcome.err() });
            }
        };
        // The feeds stop on shutdown; the publisher ends once every feed dropped its sender.
        shutdown.cancel();
        for (name, task) in tasks {
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(task = %name, error = %e, "ingestion task panicked while stopping");
            }
        }
        drop(controls);
        drop(desired);
        let flushed = publisher.await;
        let totals = stats.snapshot();
        tracing::info!(
            published = totals.published,
            dropped = totals.dropped,
            "ingestion stopped"
        );
        match (failure, flushed) {
            (Some(failure), _) => Err(failure),
            (None, Err(e)) => Err(IngestionError::TaskEnded {
                task: "publisher".to_owned(),
                source: Some(e),
            }),
            (None, Ok(())) => Ok(()),
        }
    }
}
