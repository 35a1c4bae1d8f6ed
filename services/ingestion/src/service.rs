//! The ingestion service: one feed per configured exchange, all feeding one publisher.

use std::collections::BTreeSet;
use std::sync::Arc;

use tickmesh_bus::EventPublisher;
use tickmesh_domain::{Exchange, Market, UtcMicros};
use tickmesh_feeds::{
    EdgeLimits, Endpoints, FeedConfig, FeedHandle, FeedSnapshot, RestClient, RestError,
    protocol_for, spawn_feed,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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
        }
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
    feeds: Vec<(Exchange, FeedHandle)>,
    stats: Arc<PublisherStats>,
    publisher: JoinHandle<()>,
    /// Tasks that steer the feeds (following the subscription service), by name.
    helpers: Vec<(String, JoinHandle<()>)>,
    shutdown: CancellationToken,
}

impl Ingestion {
    /// Starts the feeds and the publisher (gap markers to `gaps`). Feeds stop when `shutdown`
    /// is cancelled; the publisher then flushes what they handed it and stops.
    pub fn start(
        config: IngestionConfig,
        bus: Arc<dyn EventPublisher>,
        gaps: Option<Arc<dyn tickmesh_bus::LiveBus>>,
        shutdown: CancellationToken,
    ) -> Result<Ingestion, IngestionError> {
        let (tx, rx) = mpsc::channel(config.feed_channel.max(1));
        let mut feeds = Vec::with_capacity(config.exchanges.len());
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
            let handle = spawn_feed(
                feed_config,
                protocol_for(feed.exchange),
                Arc::new(history),
                tx.clone(),
                shutdown.clone(),
            );
            handle.set_markets(config.markets.clone());
            feeds.push((feed.exchange, handle));
        }
        drop(tx);
        let stats = Arc::new(PublisherStats::default());
        // The publisher ends when every feed has dropped its sender, so it flushes what the
        // feeds produced up to their last moment.
        let publisher = tokio::spawn(run_publisher(
            rx,
            bus,
            gaps,
            config.publisher,
            Arc::clone(&stats),
            CancellationToken::new(),
        ));
        Ok(Ingestion {
            feeds,
            stats,
            publisher,
            helpers: Vec::new(),
            shutdown,
        })
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
        for (_, feed) in self.feeds.iter().filter(|(e, _)| *e == exchange) {
            feed.set_markets(markets.clone());
        }
    }

    /// The status of every feed.
    pub fn feeds(&self) -> Vec<FeedSnapshot> {
        let now = UtcMicros::now();
        self.feeds
            .iter()
            .map(|(_, f)| f.status().snapshot(now))
            .collect()
    }

    /// The feeds' status, for `IngestionService.ListFeeds`.
    pub fn statuses(&self) -> crate::grpc::FeedStatuses {
        crate::grpc::FeedStatuses(std::sync::Arc::new(
            self.feeds
                .iter()
                .map(|(exchange, feed)| (*exchange, feed.status()))
                .collect(),
        ))
    }

    /// Handles that steer the feeds, for [`crate::follow::follow`].
    pub fn controls(&self) -> crate::follow::FeedControls {
        crate::follow::FeedControls(
            self.feeds
                .iter()
                .map(|(exchange, feed)| (*exchange, feed.control()))
                .collect(),
        )
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
