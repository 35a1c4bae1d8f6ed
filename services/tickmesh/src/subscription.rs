//! Wiring of the subscription service: the store on the database, the market catalog from the
//! exchanges' REST market lists, the live tick hub on the live bus, and their gRPC services.

use std::sync::Arc;
use std::time::Duration;

use tickmesh_bootstrap::GrpcServer;
use tickmesh_subscription::stream::{HubConfig, TickHub};
use tickmesh_subscription::subscriptions::{DbStore, MarketCatalog, Subscriptions};
use tickmesh_telemetry::Metrics;
use tokio_util::sync::CancellationToken;

use tickmesh_bootstrap::{ServiceHandle, ServiceStop, StopMode};
use tonic::server::NamedService as _;

use crate::plane::Adapters;
use crate::settings::DataPlaneConfig;

/// Per-client buffer of StreamTicks, in events: a client this far behind gets `lagged`.
const STREAM_CLIENT_CAPACITY: usize = 4_096;
/// How often the market lists are fetched again (exchanges list new markets).
const CATALOG_REFRESH: Duration = Duration::from_secs(300);

/// Starts the subscription and tick stream services, adds them to `server` and registers the
/// stream's metrics.
pub async fn start(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    db: sea_orm::DatabaseConnection,
    server: GrpcServer,
    metrics: &Metrics,
) -> anyhow::Result<(Arc<Subscriptions>, ServiceHandle, GrpcServer)> {
    let stop = ServiceStop::default();
    let shutdown = &stop.now;
    let catalog = fetch_catalog(config, &MarketCatalog::default()).await;
    let core = Arc::new(
        Subscriptions::new(Arc::new(DbStore::new(db)), catalog).with_shutdown(shutdown.clone()),
    );
    // `ingestion.markets` seeds the desired set, so `tickmesh up` collects something at once.
    for market in &config.ingestion.markets {
        if let Err(e) = core.create(None, *market).await {
            tracing::warn!(%market, error = %e, "cannot subscribe to a configured market");
        }
    }
    let hub = TickHub::new(Arc::clone(&adapters.live), HubConfig::default());
    crate::metrics::register_stream(metrics, hub.clone());
    let descriptors = tickmesh_proto::FILE_DESCRIPTOR_SET;
    let server = server
        .require_token_for(&tickmesh_subscription::subscriptions::MUTATING_METHODS)
        .add_service(
            tickmesh_subscription::subscriptions::server(Arc::clone(&core)),
            descriptors,
        )
        .add_service(
            tickmesh_subscription::stream::server(hub.clone(), STREAM_CLIENT_CAPACITY),
            descriptors,
        );
    let grpc = vec![
        tickmesh_proto::subscription::v1::subscription_service_server::SubscriptionServiceServer::<
            tickmesh_subscription::subscriptions::SubscriptionGrpc,
        >::NAME,
        tickmesh_proto::stream::v1::tick_stream_service_server::TickStreamServiceServer::<
            tickmesh_subscription::stream::TickStreamGrpc,
        >::NAME,
    ];
    let service = {
        let (config, shutdown, core) = (config.clone(), shutdown.clone(), Arc::clone(&core));
        async move {
            let mut refresh_at = tokio::time::Instant::now() + CATALOG_REFRESH;
            let mut sync = tokio::time::interval(config.subscription_sync);
            sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep_until(refresh_at) => {
                        let fresh = fetch_catalog(&config, &core.catalog()).await;
                        core.set_catalog(fresh);
                        refresh_at = tokio::time::Instant::now() + CATALOG_REFRESH;
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
    Ok((core, handle, server))
}

/// Steers ingestion's feeds from the subscription service in the same process (`tickmesh
/// up`): the same snapshot-then-changes protocol as the gRPC watch, without a socket or TLS.
pub async fn follow_in_process(
    core: Arc<Subscriptions>,
    feeds: tickmesh_ingestion::follow::FeedControls,
    shutdown: CancellationToken,
) {
    use std::collections::BTreeSet;
    use tickmesh_subscription::subscriptions::Change;
    while !shutdown.is_cancelled() {
        let (snapshot, mut watch) = match core.watch(None).await {
            Ok(started) => started,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch subscriptions; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut desired: BTreeSet<_> = snapshot.iter().map(|s| (s.exchange, s.market)).collect();
        feeds.apply(&desired);
        loop {
            let change = tokio::select! {
                () = shutdown.cancelled() => return,
                change = watch.next() => change,
            };
            match change {
                Some(Ok(Change::Added(s))) => {
                    desired.insert((s.exchange, s.market));
                }
                Some(Ok(Change::Removed(s))) => {
                    desired.remove(&(s.exchange, s.market));
                }
                // Fell behind or ended: watch again for a fresh snapshot.
                Some(Err(_)) | None => break,
            }
            feeds.apply(&desired);
        }
    }
}

/// Each exchange's market list. An exchange that cannot answer keeps what `previous` had for
/// it (nothing at start, so creating a subscription there says the market is not listed
/// until a refresh succeeds).
async fn fetch_catalog(config: &DataPlaneConfig, previous: &MarketCatalog) -> MarketCatalog {
    let mut lists = Vec::new();
    for feed in &config.ingestion.exchanges {
        let one = MarketCatalog::fetch_rest([(feed.exchange, feed.endpoints.rest_url.clone())]);
        match tokio::time::timeout(Duration::from_secs(10), one).await {
            Ok(Ok(catalog)) => lists.push((feed.exchange, catalog.markets(feed.exchange))),
            Ok(Err(e)) => {
                tracing::warn!(exchange = %feed.exchange, error = %e, "cannot fetch the market list; retrying later");
                lists.push((feed.exchange, previous.markets(feed.exchange)));
            }
            Err(_) => {
                tracing::warn!(exchange = %feed.exchange, "the market list did not come within 10 s; retrying later");
                lists.push((feed.exchange, previous.markets(feed.exchange)));
            }
        }
    }
    MarketCatalog::new(lists)
}
