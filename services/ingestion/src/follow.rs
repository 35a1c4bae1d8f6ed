//! Following the subscription service: ingestion watches the desired set and moves each feed
//! to it within moments of a change.
//!
//! Where the set comes from is a port, [`SubscriptionSource`]: the subscription service over
//! gRPC ([`GrpcSubscriptions`], a separate ingestion process) or in the same process (`tickmesh
//! up`, whose composition root adapts the service directly, without a socket). Both speak the
//! same protocol: a watch starts with a snapshot of the whole set, then sends each change.
//! When a watch breaks (the subscription service restarts, the network blips, the watcher fell
//! behind) [`follow`] watches again after a capped backoff; the fresh snapshot then replaces
//! whatever it knew, so a change made while it was away is not missed.

mod grpc;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::{Backoff, BackoffConfig, FeedControl};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use grpc::GrpcSubscriptions;

/// One step of a watch of the desired set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesiredChange {
    /// The whole set; a watch sends this first.
    Snapshot(BTreeSet<(Exchange, Market)>),
    /// A pair was subscribed.
    Added(Exchange, Market),
    /// A pair was unsubscribed.
    Removed(Exchange, Market),
}

/// Why a watch of the desired set broke or could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FollowError(pub String);

/// Where ingestion learns the desired set.
#[async_trait]
pub trait SubscriptionSource: Send + Sync + std::fmt::Debug + 'static {
    /// Starts a watch; its first change is a [`DesiredChange::Snapshot`].
    async fn watch(&self) -> Result<Box<dyn DesiredWatch>, FollowError>;
}

/// A running watch of the desired set.
#[async_trait]
pub trait DesiredWatch: Send {
    /// The next change; `Ok(None)` when the source ended the watch, an error when it broke.
    async fn next(&mut self) -> Result<Option<DesiredChange>, FollowError>;
}

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

/// Watches `source` until `shutdown`, steering `feeds`.
pub async fn follow(
    source: Arc<dyn SubscriptionSource>,
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
            outcome = watch_once(source.as_ref(), &feeds, &mut backoff) => outcome,
        };
        let delay = backoff.next_delay();
        warn!(source = ?source, error = %outcome, "watching subscriptions stopped; watching again in {delay:?}");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One watch, until it breaks; returns why.
#[tracing::instrument(name = "ingestion.watch_subscriptions", skip_all)]
async fn watch_once(
    source: &dyn SubscriptionSource,
    feeds: &FeedControls,
    backoff: &mut Backoff,
) -> FollowError {
    let mut watch = match source.watch().await {
        Ok(watch) => watch,
        Err(e) => return e,
    };
    let mut desired: BTreeSet<(Exchange, Market)> = BTreeSet::new();
    loop {
        match watch.next().await {
            Ok(Some(DesiredChange::Snapshot(snapshot))) => {
                desired = snapshot;
                backoff.reset();
                info!(
                    subscriptions = desired.len(),
                    "subscription snapshot received"
                );
            }
            Ok(Some(DesiredChange::Added(exchange, market))) => {
                desired.insert((exchange, market));
            }
            Ok(Some(DesiredChange::Removed(exchange, market))) => {
                desired.remove(&(exchange, market));
            }
            Ok(None) => return FollowError("the subscription service ended the watch".into()),
            Err(e) => return e,
        }
        feeds.apply(&desired);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// Each watch replays the next script; a script's end breaks the watch.
    #[derive(Debug, Default)]
    struct Scripted(Mutex<VecDeque<Vec<DesiredChange>>>);

    struct Replay(VecDeque<DesiredChange>);

    #[async_trait]
    impl SubscriptionSource for Scripted {
        async fn watch(&self) -> Result<Box<dyn DesiredWatch>, FollowError> {
            let next = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            match next {
                Some(script) => Ok(Box::new(Replay(script.into()))),
                // Nothing more to replay: each further watch breaks before its snapshot.
                None => Ok(Box::new(Replay(VecDeque::new()))),
            }
        }
    }

    #[async_trait]
    impl DesiredWatch for Replay {
        async fn next(&mut self) -> Result<Option<DesiredChange>, FollowError> {
            match self.0.pop_front() {
                Some(change) => Ok(Some(change)),
                None => Err(FollowError("script ended".into())),
            }
        }
    }

    fn m(code: &str) -> Market {
        Market::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"))
    }

    #[tokio::test]
    async fn a_fresh_snapshot_replaces_what_a_broken_watch_left() {
        let (btc, eth, xrp) = (m("KRW-BTC"), m("KRW-ETH"), m("KRW-XRP"));
        let source = Scripted(Mutex::new(VecDeque::from([
            vec![
                DesiredChange::Snapshot([(Exchange::Upbit, btc)].into()),
                DesiredChange::Added(Exchange::Upbit, eth),
                DesiredChange::Added(Exchange::Korbit, btc),
                DesiredChange::Removed(Exchange::Upbit, btc),
            ],
            // While the first watch was down, ETH went and XRP came on Upbit.
            vec![DesiredChange::Snapshot(
                [(Exchange::Upbit, xrp), (Exchange::Korbit, btc)].into(),
            )],
        ])));
        let (upbit, korbit) = (FeedControl::detached(), FeedControl::detached());
        let feeds = FeedControls(vec![
            (Exchange::Upbit, upbit.clone()),
            (Exchange::Korbit, korbit.clone()),
        ]);
        let stop = CancellationToken::new();
        let task = tokio::spawn(follow(Arc::new(source), feeds, stop.clone()));
        // The first watch breaks and the second starts after a backoff of about 200 ms.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while upbit.markets() != [xrp].into() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(upbit.markets(), [xrp].into());
        assert_eq!(korbit.markets(), [btc].into());
        stop.cancel();
        task.await
            .unwrap_or_else(|e| panic!("follower panicked: {e}"));
    }
}
