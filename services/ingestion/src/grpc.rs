//! The gRPC edge of ingestion: `IngestionService.ListFeeds` over the feeds' live status.

use std::sync::{Arc, PoisonError, RwLock};

use tickmesh_bus::{Lease, LeaseStore};
use tickmesh_domain::{Exchange, RejectReason, UtcMicros};
use tickmesh_feeds::{FeedState, FeedStatus};
use tickmesh_proto::convert::{exchange_to_wire, market_to_wire, time_to_wire};
use tickmesh_proto::ingestion::v1 as wire;
use tickmesh_proto::ingestion::v1::ingestion_service_server::{
    IngestionService, IngestionServiceServer,
};
use tonic::{Request, Response, Status};

use crate::ownership::Unit;

/// One running feed of this replica.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    /// Its exchange.
    pub exchange: Exchange,
    /// The unit it collects, when replicated.
    pub unit: Option<Unit>,
    /// Its live status.
    pub status: Arc<FeedStatus>,
    /// The lease it collects under, when replicated.
    pub lease: Option<Lease>,
}

/// The feeds whose status `ListFeeds` reports, shared with the running [`crate::Ingestion`]
/// (fixed for a single ingestion; units come and go when replicated).
#[derive(Debug, Clone, Default)]
pub struct FeedStatuses(Arc<RwLock<Vec<FeedEntry>>>);

impl FeedStatuses {
    /// The feeds now.
    pub fn entries(&self) -> Vec<FeedEntry> {
        // Every update leaves the list whole, so a poisoned lock is still usable.
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every feed's status now (for metrics).
    pub fn snapshots(&self) -> Vec<tickmesh_feeds::FeedSnapshot> {
        let now = UtcMicros::now();
        self.entries()
            .iter()
            .map(|entry| entry.status.snapshot(now))
            .collect()
    }

    pub(crate) fn insert(&self, entry: FeedEntry) {
        let mut entries = self.0.write().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.unit.is_none() || e.unit != entry.unit);
        entries.push(entry);
        entries.sort_by_key(|e| (e.exchange, e.unit));
    }

    pub(crate) fn remove(&self, unit: Unit) {
        let mut entries = self.0.write().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.unit != Some(unit));
    }
}

/// Who holds which unit, for `ListFeeds` of a replicated ingestion.
#[derive(Debug, Clone)]
pub struct LeaseView {
    /// This replica's member name.
    pub member: String,
    /// The lease store.
    pub store: Arc<dyn LeaseStore>,
    /// Every unit.
    pub units: Vec<Unit>,
}

/// `IngestionService` over the feeds' status.
#[derive(Debug, Clone)]
pub struct IngestionGrpc {
    feeds: FeedStatuses,
    leases: Option<LeaseView>,
}

/// The tonic service for `feeds`, and for the units' holders when replicated.
pub fn server(
    feeds: FeedStatuses,
    leases: Option<LeaseView>,
) -> IngestionServiceServer<IngestionGrpc> {
    IngestionServiceServer::new(IngestionGrpc { feeds, leases })
}

/// Milliseconds since the epoch as a time of the wire.
fn millis_to_wire(ms: i64) -> prost_types::Timestamp {
    time_to_wire(UtcMicros(ms.saturating_mul(1000)))
}

async fn units_to_wire(view: &LeaseView) -> Result<Vec<wire::UnitLease>, Status> {
    let names: Vec<String> = view.units.iter().map(ToString::to_string).collect();
    let holders = view.store.holders(&names).await.map_err(|e| {
        Status::unavailable(format!(
            "cannot read the leases: {}",
            tickmesh_telemetry::ErrorChain(&e)
        ))
    })?;
    Ok(view
        .units
        .iter()
        .zip(names)
        .zip(holders)
        .map(|((unit, name), holding)| wire::UnitLease {
            unit: name,
            exchange: exchange_to_wire(unit.exchange) as i32,
            shard: u32::from(unit.shard),
            owner: holding
                .as_ref()
                .map(|h| h.lease.member.clone())
                .unwrap_or_default(),
            token: holding.as_ref().map_or(0, |h| h.lease.token),
            granted_time: holding.as_ref().map(|h| millis_to_wire(h.lease.granted_ms)),
            remaining_ms: holding.as_ref().map_or(0, |h| {
                u64::try_from(h.remaining.as_millis()).unwrap_or(u64::MAX)
            }),
        })
        .collect())
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
fn feed_to_wire(entry: &FeedEntry, s: tickmesh_feeds::FeedSnapshot) -> wire::Feed {
    let exchange = entry.exchange;
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
        unit: entry.unit.map(|u| u.to_string()).unwrap_or_default(),
        lease_token: entry.lease.as_ref().map_or(0, |l| l.token),
        lease_granted_time: entry.lease.as_ref().map(|l| millis_to_wire(l.granted_ms)),
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
            .entries()
            .iter()
            .map(|entry| feed_to_wire(entry, entry.status.snapshot(now)))
            .collect();
        let (replica, units) = match &self.leases {
            Some(view) => (view.member.clone(), units_to_wire(view).await?),
            None => (String::new(), Vec::new()),
        };
        Ok(Response::new(wire::ListFeedsResponse {
            feeds,
            replica,
            units,
        }))
    }
}

#[cfg(test)]
mod tests {
    use tickmesh_feeds::FeedStatus;

    use super::*;

    #[test]
    fn every_reason_is_listed_with_its_count() {
        let status = Arc::new(FeedStatus::new(Exchange::Bithumb));
        status.record_rejection(RejectReason::TimeSkew);
        status.record_rejection(RejectReason::TimeSkew);
        status.record_rejection(RejectReason::Unsubscribed);
        let entry = FeedEntry {
            exchange: Exchange::Bithumb,
            unit: None,
            status: Arc::clone(&status),
            lease: None,
        };
        let feed = feed_to_wire(&entry, status.snapshot(UtcMicros::now()));
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
