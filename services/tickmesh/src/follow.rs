//! Ingestion following the subscription service in the same process (`tickmesh up`): the
//! in-process adapter of ingestion's [`SubscriptionSource`] port, speaking the same
//! snapshot-then-changes protocol as the gRPC watch, without a socket or TLS.

use std::sync::Arc;

use async_trait::async_trait;
use tickmesh_ingestion::follow::{DesiredChange, DesiredWatch, FollowError, SubscriptionSource};
use tickmesh_subscription::subscriptions::{Change, Subscriptions, Watch};

/// The desired set of the subscription service running in this process.
#[derive(Debug, Clone)]
pub struct InProcessSubscriptions(pub Arc<Subscriptions>);

#[async_trait]
impl SubscriptionSource for InProcessSubscriptions {
    async fn watch(&self) -> Result<Box<dyn DesiredWatch>, FollowError> {
        let (snapshot, watch) = self
            .0
            .watch(None)
            .await
            .map_err(|e| FollowError(format!("cannot watch subscriptions: {e}")))?;
        let snapshot = snapshot.iter().map(|s| (s.exchange, s.market)).collect();
        Ok(Box::new(InProcessWatch {
            snapshot: Some(snapshot),
            watch,
        }))
    }
}

struct InProcessWatch {
    snapshot:
        Option<std::collections::BTreeSet<(tickmesh_domain::Exchange, tickmesh_domain::Market)>>,
    watch: Watch,
}

#[async_trait]
impl DesiredWatch for InProcessWatch {
    async fn next(&mut self) -> Result<Option<DesiredChange>, FollowError> {
        if let Some(snapshot) = self.snapshot.take() {
            return Ok(Some(DesiredChange::Snapshot(snapshot)));
        }
        match self.watch.next().await {
            Some(Ok(Change::Added(s))) => Ok(Some(DesiredChange::Added(s.exchange, s.market))),
            Some(Ok(Change::Removed(s))) => Ok(Some(DesiredChange::Removed(s.exchange, s.market))),
            // Fell behind: watch again for a fresh snapshot.
            Some(Err(e)) => Err(FollowError(format!("subscription watch broke: {e}"))),
            None => Ok(None),
        }
    }
}
