//! Wiring of the subscription service: the store on the database, the market catalog from the
//! exchanges' REST market lists, the live tick hub on the live bus, and their gRPC services.

use std::sync::Arc;
use std::time::Duration;

use tickmesh_bootstrap::GrpcServer;
use tickmesh_subscription::stream::{HubConfig, TickHub};
use tickmesh_subscription::subscriptions::{DbStore, MarketCatalog, Subscriptions};
use tokio_util::sync::CancellationToken;

use crate::plane::{Adapters, Running};
use crate::settings::DataPlaneConfig;

/// Per-client buffer of StreamTicks, in events: a client this far behind gets `lagged`.
const STREAM_CLIENT_CAPACITY: usize = 4_096;
/// How often the market lists are fetched again (exchanges list new markets).
const CATALOG_REFRESH: Duration = Duration::from_secs(300);

/// Starts the subscription and tick stream services and adds them to `server`.
pub async fn start(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    db: sea_orm::DatabaseConnection,
    shutdown: &CancellationToken,
    server: GrpcServer,
) -> anyhow::Result<(Running, GrpcServer)> {
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
    let hub = TickHub::start(Arc::clone(&adapters.live), HubConfig::default()).await?;
    let descriptors = tickmesh_proto::FILE_DESCRIPTOR_SET;
    let server = server
        .add_service(
            tickmesh_subscription::subscriptions::server(Arc::clone(&core)),
            descriptors,
        )
        .add_service(
            tickmesh_subscription::stream::server(hub.clone(), STREAM_CLIENT_CAPACITY),
            descriptors,
        );
    let task = tokio::spawn({
        let (config, shutdown) = (config.clone(), shutdown.clone());
        async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(CATALOG_REFRESH) => {
                        let fresh = fetch_catalog(&config, &core.catalog()).await;
                        core.set_catalog(fresh);
                    }
                }
            }
            // Open streams end now, so the server's drain does not wait for them.
            hub.close();
            core.shutdown();
            Ok(())
        }
    });
    Ok((Running::Task("subscription", task), server))
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
