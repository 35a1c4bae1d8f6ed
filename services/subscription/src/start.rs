//! The subscription service as a supervised service of its process: [`start`] opens the
//! desired set on the database (seeded with the configured markets), fetches the exchanges'
//! market lists, starts the live tick hub, hosts `SubscriptionService` and
//! `TickStreamService`, and then keeps the market lists fresh and the desired set in step
//! with other replicas until it is stopped.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tickmesh_bootstrap::{GrpcServer, ServiceHandle, ServiceStop, StopMode};
use tickmesh_bus::{LiveBus, StreamHistory};
use tickmesh_domain::{Exchange, Market};
use tickmesh_telemetry::Metrics;

use crate::stream::{EventArchive, HubConfig, ReplayConfig, Replayer, StreamLimits, TickHub};
use crate::subscriptions::{DbStore, MUTATING_METHODS, MarketCatalog, Subscriptions};

/// What the subscription service is configured with.
#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    /// Each exchange whose markets can be subscribed, with the REST base URL of its market
    /// list.
    pub exchanges: Vec<(Exchange, String)>,
    /// Markets subscribed on every exchange at start (`ingestion.markets`), so a fresh
    /// `tickmesh up` collects something at once.
    pub seed: Vec<Market>,
    /// How often the desired set is read back from the store, to pass on what other replicas
    /// changed.
    pub sync_every: Duration,
    /// How often the market lists are fetched again (exchanges list new markets).
    pub catalog_refresh: Duration,
    /// The longest one market list fetch may take.
    pub catalog_timeout: Duration,
    /// What one `StreamTicks` client may ask for and hold.
    pub stream: StreamLimits,
    /// How clients that resume are replayed.
    pub replay: ReplayConfig,
    /// How the tick hub subscribes upstream.
    pub hub: HubConfig,
}

impl SubscriptionConfig {
    /// The defaults for `exchanges`, seeded with `seed`, syncing every `sync_every`.
    pub fn new(
        exchanges: Vec<(Exchange, String)>,
        seed: Vec<Market>,
        sync_every: Duration,
    ) -> Self {
        SubscriptionConfig {
            exchanges,
            seed,
            sync_every,
            catalog_refresh: Duration::from_secs(300),
            catalog_timeout: Duration::from_secs(10),
            stream: StreamLimits::new(StreamLimits::DEFAULT_CLIENT_CAPACITY),
            replay: ReplayConfig::default(),
            hub: HubConfig::default(),
        }
    }
}

/// The ports the subscription service runs on.
#[derive(Debug, Clone)]
pub struct SubscriptionPorts {
    /// The database holding the desired set (migrated).
    pub db: DatabaseConnection,
    /// The live bus the tick hub reads.
    pub live: Arc<dyn LiveBus>,
    /// Where clients that resume are replayed from; without it they are refused.
    pub history: Option<HistoryPorts>,
}

/// The history stream clients resume from.
#[derive(Debug, Clone)]
pub struct HistoryPorts {
    /// The durable stream ingestion publishes to, read back by position.
    pub history: Arc<dyn StreamHistory>,
    /// Its name.
    pub stream: String,
    /// Stored trades and tickers older than the stream holds.
    pub archive: Option<Arc<dyn EventArchive>>,
}

/// Starts the service; returns the desired set (for an in-process follower) and the handle.
/// It stops at once when asked, ending every open tick stream so the server can drain.
pub async fn start(
    config: SubscriptionConfig,
    ports: SubscriptionPorts,
    metrics: &Metrics,
    server: &mut GrpcServer,
) -> (Arc<Subscriptions>, ServiceHandle) {
    let stop = ServiceStop::default();
    let shutdown = stop.now.clone();
    let catalog = fetch_catalog(&config, &MarketCatalog::default()).await;
    let core = Arc::new(
        Subscriptions::new(Arc::new(DbStore::new(ports.db)), catalog)
            .with_shutdown(shutdown.clone()),
    );
    for market in &config.seed {
        if let Err(e) = core.create(None, *market).await {
            tracing::warn!(%market, error = %e, "cannot subscribe to a configured market");
        }
    }
    let hub = TickHub::new(ports.live, config.hub.clone());
    let replayer = ports
        .history
        .map(|h| Replayer::new(h.history, h.stream, h.archive, config.replay));
    crate::stream::metrics::register(metrics, hub.clone(), replayer.clone());
    let descriptors = tickmesh_proto::FILE_DESCRIPTOR_SET;
    server.gate(&MUTATING_METHODS);
    let grpc = vec![
        server.host(crate::subscriptions::server(Arc::clone(&core)), descriptors),
        server.host(
            crate::stream::server(hub.clone(), config.stream, replayer),
            descriptors,
        ),
    ];
    let service = {
        let core = Arc::clone(&core);
        async move {
            let mut refresh_at = tokio::time::Instant::now() + config.catalog_refresh;
            let mut sync = tokio::time::interval(config.sync_every);
            sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep_until(refresh_at) => {
                        let fresh = fetch_catalog(&config, &core.catalog()).await;
                        core.set_catalog(fresh);
                        refresh_at = tokio::time::Instant::now() + config.catalog_refresh;
                    }
                    // Replicas share the store: pass on what the others changed.
                    _ = sync.tick() => {
                        if let Err(e) = core.sync_from_store().await {
                            tracing::warn!(error = %e, "cannot read the subscriptions to sync with other replicas; retrying");
                        }
                    }
                }
            }
            // Open streams end now, so the server's drain does not wait for them.
            hub.close();
            core.shutdown();
            Ok(())
        }
    };
    let handle = ServiceHandle::spawn("subscription", grpc, stop, StopMode::Now, service);
    (core, handle)
}

/// Each exchange's market list. An exchange that cannot answer keeps what `previous` had for
/// it (nothing at start, so creating a subscription there says the market is not listed
/// until a refresh succeeds).
async fn fetch_catalog(config: &SubscriptionConfig, previous: &MarketCatalog) -> MarketCatalog {
    let mut lists = Vec::new();
    let limit = config.catalog_timeout;
    for (exchange, rest_url) in &config.exchanges {
        let one = MarketCatalog::fetch_rest([(*exchange, rest_url.clone())]);
        match tokio::time::timeout(limit, one).await {
            Ok(Ok(catalog)) => lists.push((*exchange, catalog.markets(*exchange))),
            Ok(Err(e)) => {
                tracing::warn!(%exchange, error = %e, "cannot fetch the market list; retrying later");
                lists.push((*exchange, previous.markets(*exchange)));
            }
            Err(_) => {
                tracing::warn!(%exchange, "the market list did not come within {limit:?}; retrying later");
                lists.push((*exchange, previous.markets(*exchange)));
            }
        }
    }
    MarketCatalog::new(lists)
}
