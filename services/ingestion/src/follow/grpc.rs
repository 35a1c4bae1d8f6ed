//! [`GrpcSubscriptions`]: the desired set from `SubscriptionService.WatchSubscriptions`.

use std::path::PathBuf;

use async_trait::async_trait;
use tickmesh_domain::{Exchange, Market};
use tickmesh_proto::convert::{exchange_from_wire, market_from_wire};
use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;
use tickmesh_proto::subscription::v1::watch_subscriptions_response::Change;
use tonic::Streaming;

use super::{DesiredChange, DesiredWatch, FollowError, SubscriptionSource};

/// The subscription service at a URL (`https://` trusting the CA in `ca`).
#[derive(Debug, Clone)]
pub struct GrpcSubscriptions {
    url: String,
    ca: Option<PathBuf>,
}

impl GrpcSubscriptions {
    /// The service at `url`.
    pub fn new(url: String, ca: Option<PathBuf>) -> GrpcSubscriptions {
        GrpcSubscriptions { url, ca }
    }
}

#[async_trait]
impl SubscriptionSource for GrpcSubscriptions {
    async fn watch(&self) -> Result<Box<dyn DesiredWatch>, FollowError> {
        let channel = tickmesh_bootstrap::connect_channel(&self.url, self.ca.as_deref())
            .await
            .map_err(|e| {
                FollowError(format!(
                    "cannot reach the subscription service at {}: {e}",
                    self.url
                ))
            })?;
        let mut request = tonic::Request::new(wire::WatchSubscriptionsRequest { exchange: 0 });
        tickmesh_bootstrap::propagate_trace(&mut request);
        let stream = SubscriptionServiceClient::new(channel)
            .watch_subscriptions(request)
            .await
            .map_err(|status| FollowError(format!("watch refused: {status}")))?
            .into_inner();
        Ok(Box::new(GrpcWatch { stream }))
    }
}

struct GrpcWatch {
    stream: Streaming<wire::WatchSubscriptionsResponse>,
}

#[async_trait]
impl DesiredWatch for GrpcWatch {
    async fn next(&mut self) -> Result<Option<DesiredChange>, FollowError> {
        loop {
            let message = match self.stream.message().await {
                Ok(Some(message)) => message,
                Ok(None) => return Ok(None),
                Err(status) => return Err(FollowError(format!("watch failed: {status}"))),
            };
            // A pair this build cannot read (a newer exchange, say) is left out.
            let change = match message.change {
                Some(Change::Snapshot(snapshot)) => Some(DesiredChange::Snapshot(
                    snapshot.subscriptions.iter().filter_map(pair).collect(),
                )),
                Some(Change::Added(s)) => pair(&s).map(|(e, m)| DesiredChange::Added(e, m)),
                Some(Change::Removed(s)) => pair(&s).map(|(e, m)| DesiredChange::Removed(e, m)),
                None => None,
            };
            if let Some(change) = change {
                return Ok(Some(change));
            }
        }
    }
}

fn pair(s: &wire::Subscription) -> Option<(Exchange, Market)> {
    let exchange = exchange_from_wire("exchange", s.exchange).ok().flatten()?;
    let market = market_from_wire("market", s.market.as_ref()).ok()?;
    Some((exchange, market))
}
