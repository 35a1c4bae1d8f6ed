//! The gRPC edge: `SubscriptionService` over [`Subscriptions`].
//!
//! Requests are validated here (market in any spelling, field `market`; exchange optional,
//! unspecified meaning all) and turned into domain calls. Errors map to codes a client can act
//! on: INVALID_ARGUMENT naming the field, NOT_FOUND naming the exchange and market a market
//! list lacks, UNAVAILABLE when the store failed, and ABORTED when a watch fell behind (watch
//! again for a fresh snapshot).

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use futures::stream;
use tickmesh_domain::{Exchange, Market};
use tickmesh_proto::convert::{
    exchange_from_wire, exchange_to_wire, market_from_text, market_to_wire, time_to_wire,
};
use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::subscription_service_server::{
    SubscriptionService, SubscriptionServiceServer,
};
use tickmesh_proto::subscription::v1::watch_subscriptions_response::Change as WireChange;
use tickmesh_telemetry::ErrorChain;
use tonic::{Request, Response, Status};

use super::service::{Change, SubscriptionError, Subscriptions, Watch, WatchError};
use super::store::Subscription;

/// The stream `WatchSubscriptions` answers with.
pub type WatchStream =
    Pin<Box<dyn Stream<Item = Result<wire::WatchSubscriptionsResponse, Status>> + Send>>;

/// `SubscriptionService` over a shared [`Subscriptions`] core.
#[derive(Debug, Clone)]
pub struct SubscriptionGrpc {
    core: Arc<Subscriptions>,
}

impl SubscriptionGrpc {
    /// The service over `core`.
    pub fn new(core: Arc<Subscriptions>) -> SubscriptionGrpc {
        SubscriptionGrpc { core }
    }
}

/// The tonic service for `core`.
pub fn server(core: Arc<Subscriptions>) -> SubscriptionServiceServer<SubscriptionGrpc> {
    SubscriptionServiceServer::new(SubscriptionGrpc::new(core))
}

/// A subscription in its wire form.
pub fn subscription_to_wire(s: &Subscription) -> wire::Subscription {
    wire::Subscription {
        exchange: exchange_to_wire(s.exchange) as i32,
        market: Some(market_to_wire(s.market)),
        created_time: Some(time_to_wire(s.created)),
    }
}

fn to_wire(subscriptions: &[Subscription]) -> Vec<wire::Subscription> {
    subscriptions.iter().map(subscription_to_wire).collect()
}

fn status(error: SubscriptionError) -> Status {
    match error {
        SubscriptionError::NotListed(_) | SubscriptionError::ListedNowhere { .. } => {
            Status::not_found(error.to_string())
        }
        SubscriptionError::Store(source) => {
            tracing::warn!(error = %ErrorChain(&source), "subscription store failed");
            Status::unavailable("subscription store unavailable; retry later")
        }
    }
}

fn exchange(value: i32) -> Result<Option<Exchange>, Status> {
    exchange_from_wire("exchange", value).map_err(|e| e.into_status())
}

fn market(text: &str) -> Result<Market, Status> {
    market_from_text("market", text).map_err(|e| e.into_status())
}

/// Where a watch stream is: the snapshot still to send, changes to follow, or over.
enum WatchState {
    Snapshot(Vec<Subscription>, Watch),
    Changes(Watch),
    Done,
}

fn watch_stream(snapshot: Vec<Subscription>, watch: Watch) -> WatchStream {
    let response = |change| wire::WatchSubscriptionsResponse {
        change: Some(change),
    };
    Box::pin(stream::unfold(
        WatchState::Snapshot(snapshot, watch),
        move |state| async move {
            match state {
                WatchState::Snapshot(snapshot, watch) => {
                    let snapshot = wire::watch_subscriptions_response::Snapshot {
                        subscriptions: to_wire(&snapshot),
                    };
                    let item = Ok(response(WireChange::Snapshot(snapshot)));
                    Some((item, WatchState::Changes(watch)))
                }
                WatchState::Changes(mut watch) => match watch.next().await? {
                    Ok(Change::Added(s)) => Some((
                        Ok(response(WireChange::Added(subscription_to_wire(&s)))),
                        WatchState::Changes(watch),
                    )),
                    Ok(Change::Removed(s)) => Some((
                        Ok(response(WireChange::Removed(subscription_to_wire(&s)))),
                        WatchState::Changes(watch),
                    )),
                    Err(e @ WatchError::Lagged { .. }) => {
                        Some((Err(Status::aborted(e.to_string())), WatchState::Done))
                    }
                },
                WatchState::Done => None,
            }
        },
    ))
}

#[tonic::async_trait]
impl SubscriptionService for SubscriptionGrpc {
    async fn create_subscription(
        &self,
        request: Request<wire::CreateSubscriptionRequest>,
    ) -> Result<Response<wire::CreateSubscriptionResponse>, Status> {
        let request = request.into_inner();
        let exchange = exchange(request.exchange)?;
        let market = market(&request.market)?;
        let added = self.core.create(exchange, market).await.map_err(status)?;
        Ok(Response::new(wire::CreateSubscriptionResponse {
            subscriptions: added
                .iter()
                .map(|a| subscription_to_wire(&a.subscription))
                .collect(),
        }))
    }

    async fn delete_subscription(
        &self,
        request: Request<wire::DeleteSubscriptionRequest>,
    ) -> Result<Response<wire::DeleteSubscriptionResponse>, Status> {
        let request = request.into_inner();
        let exchange = exchange(request.exchange)?;
        let market = market(&request.market)?;
        let removed = self.core.delete(exchange, market).await.map_err(status)?;
        Ok(Response::new(wire::DeleteSubscriptionResponse {
            removed: to_wire(&removed),
        }))
    }

    async fn list_subscriptions(
        &self,
        request: Request<wire::ListSubscriptionsRequest>,
    ) -> Result<Response<wire::ListSubscriptionsResponse>, Status> {
        let exchange = exchange(request.into_inner().exchange)?;
        let subscriptions = self.core.list(exchange).await.map_err(status)?;
        Ok(Response::new(wire::ListSubscriptionsResponse {
            subscriptions: to_wire(&subscriptions),
        }))
    }

    type WatchSubscriptionsStream = WatchStream;

    async fn watch_subscriptions(
        &self,
        request: Request<wire::WatchSubscriptionsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let exchange = exchange(request.into_inner().exchange)?;
        let (snapshot, watch) = self.core.watch(exchange).await.map_err(status)?;
        Ok(Response::new(watch_stream(snapshot, watch)))
    }
}
