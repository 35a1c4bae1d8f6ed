//! The gRPC edge of ingestion: `IngestionService.ListFeeds` over the feeds' live status.

use std::sync::Arc;

use tickmesh_domain::{Exchange, RejectReason, UtcMicros};
use tickmesh_feeds::{FeedState, FeedStatus};
use tickmesh_proto::convert::{exchange_to_wire, market_to_wire, time_to_wire};
use tickmesh_proto::ingestion::v1 as wire;
use tickmesh_proto::ingestion::v1::ingestion_service_server::{
    IngestionService, IngestionServiceServer,
};
use tonic::{Request, Response, Status};

/// The feeds whose status `ListFeeds` reports, shared with the running [`crate::Ingestion`].
#[derive(Debug, Clone)]
pub struct FeedStatuses(pub(crate) Arc<Vec<(Exchange, Arc<FeedStatus>)>>);

impl FeedStatuses {
    /// Every feed's status now (for metrics).
    pub fn snapshots(&self) -> Vec<tickmesh_feeds::FeedSnapshot> {
        let now = UtcMicros::now();
        self.0
            .iter()
            .map(|(_, status)| status.snapshot(now))
            .collect()
    }
}

/// `IngestionService` over the feeds' status.
#[derive(Debug, Clone)]
pub struct IngestionGrpc {
    feeds: FeedStatuses,
}

/// The tonic service for `feeds`.
pub fn server(feeds: FeedStatuses) -> IngestionServiceServer<IngestionGrpc> {
    IngestionServiceServer::new(IngestionGrpc { feeds })
}

fn state_to_wire(state: FeedState) -> wire::FeedState {
    match state {
        FeedState::Idle => wire::FeedState::Idle,
        FeedState::Connecting => wire::FeedState::Connecting,
        FeedState::Connected => wire::FeedState::Connected,
        FeedState::BackingOff => wire::FeedState::BackingOff,
    }
}

fn reason_to_wire(reason: RejectReason) -> wire::RejectReason {
    match reason {
        RejectReason::Oversize => wire::RejectReason::Oversize,
        RejectReason::BookDepth => wire::RejectReason::BookDepth,
        RejectReason::TimeSkew => wire::RejectReason::TimeSkew,
        RejectReason::BadValue => wire::RejectReason::BadValue,
        RejectReason::Unsubscribed => wire::RejectReason::Unsubscribed,
    }
}

/// One feed's status as `ListFeeds` reports it.
fn feed_to_wire(exchange: Exchange, s: tickmesh_feeds::FeedSnapshot) -> wire::Feed {
    let rejected = RejectReason::ALL
        .into_iter()
        .map(|reason| wire::RejectedCount {
            reason: reason_to_wire(reason) as i32,
            count: s.rejected(reason),
        })
        .collect();
    wire::Feed {
        exchange: exchange_to_wire(exchange) as i32,
        state: state_to_wire(s.state) as i32,
        markets: s.markets.iter().copied().map(market_to_wire).collect(),
        messages: s.messages,
        parse_errors: s.parse_errors,
        reconnects: s.reconnects,
        gaps: s.gaps,
        events_per_second: s.events_per_second,
        last_message_time: s.last_message_time.map(time_to_wire),
        // Built from escaped network text (see `tickmesh_feeds::SessionEnd`).
        last_disconnect_reason: s.last_disconnect_reason.unwrap_or_default(),
        backfilled_trades: s.backfilled_trades,
        rejected,
    }
}

#[tonic::async_trait]
impl IngestionService for IngestionGrpc {
    async fn list_feeds(
        &self,
        _request: Request<wire::ListFeedsRequest>,
    ) -> Result<Response<wire::ListFeedsResponse>, Status> {
        let now = UtcMicros::now();
        let feeds = self
            .feeds
            .0
            .iter()
            .map(|(exchange, status)| feed_to_wire(*exchange, status.snapshot(now)))
            .collect();
        Ok(Response::new(wire::ListFeedsResponse { feeds }))
    }
}

#[cfg(test)]
mod tests {
    use tickmesh_feeds::FeedStatus;

    use super::*;

    #[test]
    fn every_reason_is_listed_with_its_count() {
        let status = FeedStatus::new(Exchange::Bithumb);
        status.record_rejection(RejectReason::TimeSkew);
        status.record_rejection(RejectReason::TimeSkew);
        status.record_rejection(RejectReason::Unsubscribed);
        let feed = feed_to_wire(Exchange::Bithumb, status.snapshot(UtcMicros::now()));
        let listed: Vec<(wire::RejectReason, u64)> = feed
            .rejected
            .iter()
            .map(|r| (r.reason(), r.count))
            .collect();
        assert_eq!(
            listed,
            [
                (wire::RejectReason::Oversize, 0),
                (wire::RejectReason::BookDepth, 0),
                (wire::RejectReason::TimeSkew, 2),
                (wire::RejectReason::BadValue, 0),
                (wire::RejectReason::Unsubscribed, 1),
            ]
        );
    }
}
