//! The gRPC edge of the bridge: `BridgeService.GetStats` over [`BridgeStats`].

use std::sync::Arc;

use tickmesh_proto::bridge::v1 as wire;
use tickmesh_proto::bridge::v1::bridge_service_server::{BridgeService, BridgeServiceServer};
use tonic::{Request, Response, Status};

use crate::stats::BridgeStats;

/// `BridgeService` over a running bridge's figures.
#[derive(Debug, Clone)]
pub struct BridgeGrpc {
    stats: Arc<BridgeStats>,
}

/// The tonic service for `stats`.
pub fn server(stats: Arc<BridgeStats>) -> BridgeServiceServer<BridgeGrpc> {
    BridgeServiceServer::new(BridgeGrpc { stats })
}

#[tonic::async_trait]
impl BridgeService for BridgeGrpc {
    async fn get_stats(
        &self,
        _request: Request<wire::GetStatsRequest>,
    ) -> Result<Response<wire::GetStatsResponse>, Status> {
        let s = self.stats.snapshot();
        Ok(Response::new(wire::GetStatsResponse {
            // Unknown (a backend that cannot tell) reads as 0: the proto has no "unknown".
            lag: s.lag.unwrap_or_default(),
            pending: s.pending.unwrap_or_default(),
            forwarded: s.forwarded,
            dead_lettered: s.dead_letters,
            reclaimed: s.reclaimed,
            events_per_second: s.per_second as f64,
        }))
    }
}
