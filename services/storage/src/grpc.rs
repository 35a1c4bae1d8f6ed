//! The gRPC edge of [`history`](crate::history): `tickmesh.history.v1.HistoryService`.
//!
//! Requests are validated and converted to domain values here; every invalid field is an
//! `INVALID_ARGUMENT` that names it (`market`, `exchange`, `base_exchange`, `other_exchange`,
//! `interval`, `start_time`, `end_time`, `page_token`). Markets are accepted in any spelling
//! ([`Market::parse`](tickmesh_domain::Market::parse)); a well-formed market nothing was stored
//! for gives empty results, because whether an exchange lists a market is the subscription
//! service's concern. The interval is required even though `interval_from_wire` would read
//! `CANDLE_INTERVAL_UNSPECIFIED` as one minute: a client that forgot it should hear so.
//!
//! Unset times: `ListTrades` reads an unset start as the beginning and an unset end as
//! unbounded (the same as "now" for stored trades, and stable across pages). Candle and spread
//! queries read an unset end as now and an unset start as [`MAX_CANDLES`](history::MAX_CANDLES)
//! intervals before the end.
//!
//! Database failures become `UNAVAILABLE` (retry later) and corrupt rows `INTERNAL`, with a
//! short message; the full error chain goes to the log.

use prost_types::Timestamp;
use sea_orm::DatabaseConnection;
use tickmesh_domain::{CandleInterval, UtcMicros};
use tickmesh_proto::convert::{
    ConvertError, candle_to_wire, exchange_to_wire, interval_from_wire, market_from_text,
    market_to_wire, required_exchange, ticker_to_wire, time_from_wire, time_to_wire, trade_to_wire,
};
use tickmesh_proto::history::v1::history_service_server::{HistoryService, HistoryServiceServer};
use tickmesh_proto::history::v1::{
    self as wire, GetLatestTickersRequest, GetLatestTickersResponse, GetSpreadHistoryRequest,
    GetSpreadHistoryResponse, ListCandlesRequest, ListCandlesResponse, ListTradesRequest,
    ListTradesResponse,
};
use tonic::{Request, Response, Status};

use crate::history::{self, HistoryError};
use tickmesh_telemetry::ErrorChain;

/// `HistoryService` over a database the migrations created.
#[derive(Debug, Clone)]
pub struct HistoryGrpc {
    db: DatabaseConnection,
}

impl HistoryGrpc {
    /// Serves history from `db`.
    pub fn new(db: DatabaseConnection) -> HistoryGrpc {
        HistoryGrpc { db }
    }
}

/// The tonic service for `db`, ready for `Server::add_service`.
pub fn server(db: DatabaseConnection) -> HistoryServiceServer<HistoryGrpc> {
    HistoryServiceServer::new(HistoryGrpc::new(db))
}

/// The status for a failed query: the caller's fault, or the database's.
fn status(e: HistoryError) -> Status {
    match e {
        HistoryError::InvalidArgument { .. } => Status::invalid_argument(e.to_string()),
        HistoryError::Overflow { .. } => Status::out_of_range(e.to_string()),
        HistoryError::Storage(ref source) if source.is_retryable() => {
            tracing::warn!(error = %ErrorChain(&e), "history query failed");
            Status::unavailable("history database unavailable")
        }
        HistoryError::Storage(_) => {
            tracing::error!(error = %ErrorChain(&e), "stored history is invalid");
            Status::internal("stored history is invalid")
        }
    }
}

fn optional_time(field: &str, t: Option<&Timestamp>) -> Result<Option<UtcMicros>, ConvertError> {
    t.map(|t| time_from_wire(field, Some(t))).transpose()
}

fn required_interval(value: i32) -> Result<CandleInterval, ConvertError> {
    if value == wire::CandleInterval::Unspecified as i32 {
        return Err(ConvertError::new("interval", "an interval is required"));
    }
    interval_from_wire("interval", value)
}

/// `[start, end)` for candle queries, defaults filled in (see the module docs).
fn candle_range(
    interval: CandleInterval,
    start: Option<&Timestamp>,
    end: Option<&Timestamp>,
) -> Result<(UtcMicros, UtcMicros), ConvertError> {
    let end = optional_time("end_time", end)?.unwrap_or_else(UtcMicros::now);
    let start = optional_time("start_time", start)?
        .unwrap_or_else(|| history::default_start(interval, end));
    Ok((start, end))
}

#[tonic::async_trait]
impl HistoryService for HistoryGrpc {
    async fn get_latest_tickers(
        &self,
        request: Request<GetLatestTickersRequest>,
    ) -> Result<Response<GetLatestTickersResponse>, Status> {
        let market = market_from_text("market", &request.get_ref().market)?;
        let latest = history::latest_tickers(&self.db, market)
            .await
            .map_err(status)?;
        let tickers = latest
            .tickers
            .iter()
            .map(|t| wire::LatestTicker {
                exchange: exchange_to_wire(t.exchange) as i32,
                market: Some(market_to_wire(t.market)),
                ticker: Some(ticker_to_wire(&t.data)),
                exchange_time: Some(time_to_wire(t.exchange_time)),
            })
            .collect();
        let mut response = GetLatestTickersResponse {
            tickers,
            ..GetLatestTickersResponse::default()
        };
        if let Some(spread) = latest.spread {
            response.spread = spread.absolute.to_string();
            response.spread_percent = spread.percent.to_string();
            response.highest = exchange_to_wire(spread.highest) as i32;
            response.lowest = exchange_to_wire(spread.lowest) as i32;
        }
        Ok(Response::new(response))
    }

    async fn list_trades(
        &self,
        request: Request<ListTradesRequest>,
    ) -> Result<Response<ListTradesResponse>, Status> {
        let r = request.get_ref();
        let exchange = required_exchange("exchange", r.exchange)?;
        let market = market_from_text("market", &r.market)?;
        let start = optional_time("start_time", r.start_time.as_ref())?;
        let end = optional_time("end_time", r.end_time.as_ref())?;
        let token = (!r.page_token.is_empty()).then_some(r.page_token.as_str());
        let page = history::trades_page(&self.db, exchange, market, start, end, r.page_size, token)
            .await
            .map_err(status)?;
        let trades = page
            .trades
            .iter()
            .map(|t| wire::StoredTrade {
                trade: Some(trade_to_wire(&t.data)),
                exchange_time: Some(time_to_wire(t.exchange_time)),
                received_time: Some(time_to_wire(t.received_time)),
            })
            .collect();
        Ok(Response::new(ListTradesResponse {
            trades,
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn list_candles(
        &self,
        request: Request<ListCandlesRequest>,
    ) -> Result<Response<ListCandlesResponse>, Status> {
        let r = request.get_ref();
        let exchange = required_exchange("exchange", r.exchange)?;
        let market = market_from_text("market", &r.market)?;
        let interval = required_interval(r.interval)?;
        let (start, end) = candle_range(interval, r.start_time.as_ref(), r.end_time.as_ref())?;
        let candles = history::candles(&self.db, exchange, market, interval, start, end)
            .await
            .map_err(status)?;
        Ok(Response::new(ListCandlesResponse {
            candles: candles.iter().map(candle_to_wire).collect(),
        }))
    }

    async fn get_spread_history(
        &self,
        request: Request<GetSpreadHistoryRequest>,
    ) -> Result<Response<GetSpreadHistoryResponse>, Status> {
        let r = request.get_ref();
        let market = market_from_text("market", &r.market)?;
        let base = required_exchange("base_exchange", r.base_exchange)?;
        let other = required_exchange("other_exchange", r.other_exchange)?;
        let interval = required_interval(r.interval)?;
        let (start, end) = candle_range(interval, r.start_time.as_ref(), r.end_time.as_ref())?;
        let points = history::spread_history(&self.db, market, base, other, interval, start, end)
            .await
            .map_err(status)?;
        let points = points
            .iter()
            .map(|p| wire::SpreadPoint {
                time: Some(time_to_wire(p.time)),
                base_close: p.base_close.to_string(),
                other_close: p.other_close.to_string(),
                spread: p.spread.to_string(),
                spread_percent: p.percent.map(|p| p.to_string()).unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(GetSpreadHistoryResponse { points }))
    }
}
