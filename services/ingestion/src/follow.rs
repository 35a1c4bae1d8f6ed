//! Following the subscription service: ingestion watches the desired set
//! (`SubscriptionService.WatchSubscriptions`) and moves each feed to it within moments of a
//! change. When the watch breaks (the subscription service restarts, the network blips) it
//! watches again with a capped backoff; the fresh snapshot then replaces whatever it knew, so a
//! change made while it was away is not missed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::{Backoff, BackoffConfig, FeedControl};
use tickmesh_proto::convert::{exchange_from_wire, market_from_wire};
use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;
use tickmesh_proto::subscription::v1::watch_subscriptions_response::Change;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// The feeds to steer, by exchange.
#[derive(Debug, Clone)]
pub struct FeedControls(pub(crate) Vec<(Exchange, FeedControl)>);

impl FeedControls {
    /// Moves every feed to its exchange's part of `desired`.
    pub fn apply(&self, desired: &BTreeSet<(Exchange, Market)>) {
        for (exchange, control) in &self.0 {
            let markets: BTreeSet<Market> = desired
                .iter()
                .filter(|(e, _)| e == exchange)
                .map(|(_, m)| *m)
                .collect();
            if control.markets() != markets {
                info!(%exchange, markets = markets.len(), "following subscriptions");
                control.set_markets(markets);
            }
        }
    }
}

/// Watches the subscription service at `url` (trusting the CA in `ca` for `https://`) until
/// `shutdown`, steering `feeds`.
pub async fn follow_subscriptions(
    url: String,
    ca: Option<PathBuf>,
    feeds: FeedControls,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(
        BackoffConfig {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
        },
        u64::from(std::process::id()),
    );
    loop {
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = watch_once(&url, ca.as_deref(), &feeds, &mut backoff) => outcome,
        };
        let delay = backoff.next_delay();
        warn!(url, error = %outcome, "watching subscriptions stopped; watching again in {delay:?}");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One watch, until it breaks; returns why.
#[tracing::instrument(name = "ingestion.watch_subscriptions", skip_all, fields(url))]
async fn watch_once(
    url: &str,
    ca: Option<&Path>,
    feeds: &FeedControls,
    backoff: &mut Backoff,
) -> String {
    let mut client = match tickmesh_bootstrap::connect_channel(url, ca).await {
        Ok(channel) => SubscriptionServiceClient::new(channel),
        Err(e) => return format!("cannot reach the subscription service: {e}"),
    };
    let mut request = tonic::Request::new(wire::WatchSubscriptionsRequest { exchange: 0 });
    tickmesh_bootstrap::propagate_trace(&mut request);
    let mut stream = match client.watch_subscriptions(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return format!("watch refused: {status}"),
    };
    let mut desired: BTreeSet<(Exchange, Market)> = BTreeSet::new();
    loop {
        let message = match stream.message().await {
            Ok(Some(message)) => message,
            Ok(None) => return "the subscription service ended the watch".to_owned(),
            Err(status) => return format!("watch failed: {status}"),
        };
        match message.change {
            Some(Change::Snapshot(snapshot)) => {
                desired = snapshot.subscriptions.iter().filter_map(pair).collect();
                backoff.reset();
                info!(
                    subscriptions = desired.len(),
                    "subscription snapshot received"
                );
            }
            Some(Change::Added(s)) => {
                desired.extend(pair(&s));
            }
            Some(Change::Removed(s)) => {
                if let Some(p) = pair(&s) {
                    desired.remove(&p);
                }
            }
            None => continue,
        }
        feeds.apply(&desired);
    }
}

fn pair(s: &wire::Subscription) -> Option<(Exchange, Market)> {
    let exchange = exchange_from_wire("exchange", s.exchange).ok().flatten()?;
    let market = market_from_wire("market", s.market.as_ref()).ok()?;
    Some((exchange, market))
}
