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
//! Unset times: `ListTrades` and `ListTickers` read an unset start as the beginning and an
//! unset end as unbounded (the same as "now" for stored rows, and stable across pages). Candle
//! and spread queries read an unset end as now and an unset start as the longest range the
//! limits allow: [`MAX_CANDLES`](crate::history::MAX_CANDLES) intervals before the end, or
//! fewer where more would read over `storage.history_max_rows` one-minute rows.
//!
//! What a call may cost is bounded, and each bound has its status, with a message that names
//! the configuration key and what to ask for instead:
//! * a range over more one-minute rows than `storage.history_max_rows`: `INVALID_ARGUMENT`
//!   naming `start_time` (the same request will always be refused);
//! * a statement PostgreSQL stopped at `storage.history_statement_timeout`:
//!   `RESOURCE_EXHAUSTED`, the server's budget for one call spent (not `DEADLINE_EXCEEDED`,
//!   which is the client's own deadline, nor `UNAVAILABLE`, since retrying the same query
//!   would take as long again);
//! * every connection of the history pool busy (`storage.history_connections`):
//!   `UNAVAILABLE`, retry later.
//!
//! Other database failures become `UNAVAILABLE` (retry later) and corrupt rows `INTERNAL`,
//! with a short message; the full error chain goes to the log.

use prost_types::Timestamp;
use tickmesh_domain::{CandleInterval, UtcMicros};
use tickmesh_proto::convert::{
    ConvertError, candle_to_wire, exchange_to_wire, interval_from_wire, market_from_text,
    market_to_wire, required_exchange, ticker_to_wire, time_from_wire, time_to_wire, trade_to_wire,
};
use tickmesh_proto::history::v1::history_service_server::{HistoryService, HistoryServiceServer};
use tickmesh_proto::history::v1::{
    self as wire, GetLatestTickersRequest, GetLatestTickersResponse, GetSpreadHistoryRequest,
    GetSpreadHistoryResponse, ListCandlesRequest, ListCandlesResponse, ListTickersRequest,
    ListTickersResponse, ListTradesRequest, ListTradesResponse,
};
use tonic::{Request, Response, Status};

use crate::history::{HistoryError, HistoryReader, PageRequest};
use tickmesh_telemetry::ErrorChain;

/// `HistoryService` over a database the migrations created.
#[derive(Debug, Clone)]
pub struct HistoryGrpc {
    reader: HistoryReader,
}

impl HistoryGrpc {
    /// Serves history through `reader`.
    pub fn new(reader: HistoryReader) -> HistoryGrpc {
        HistoryGrpc { reader }
    }
}

/// The tonic service for `reader`, ready for `Server::add_service`.
pub fn server(reader: HistoryReader) -> HistoryServiceServer<HistoryGrpc> {
    HistoryServiceServer::new(HistoryGrpc::new(reader))
}

/// The status for a failed query: the caller's fault, or the database's.
fn status(e: HistoryError) -> Status {
    match e {
        HistoryError::InvalidArgument { .. } => Status::invalid_argument(e.to_string()),
        HistoryError::Overflow { .. } => Status::out_of_range(e.to_string()),
        HistoryError::TimedOut { .. } => {
            tracing::warn!(error = %ErrorChain(&e), "history query stopped at its timeout");
            Status::resource_exhausted(e.to_string())
        }
        HistoryError::Busy { .. } => {
            tracing::warn!(error = %ErrorChain(&e), "history pool busy");
            Status::unavailable(e.to_string())
        }
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

/// What `ListTrades` and `ListTickers` requests share, checked; an empty token is none.
fn page_request<'a>(
    exchange: i32,
    market: &str,
    start: Option<&Timestamp>,
    end: Option<&Timestamp>,
    size: u32,
    token: &'a str,
) -> Result<PageRequest<'a>, ConvertError> {
    Ok(PageRequest {
        exchange: required_exchange("exchange", exchange)?,
        market: market_from_text("market", market)?,
        start: optional_time("start_time", start)?,
        end: optional_time("end_time", end)?,
        size,
        token: (!token.is_empty()).then_some(token),
    })
}

impl HistoryGrpc {
    /// `[start, end)` for a candle query reading `exchanges` exchanges, defaults filled in (see
    /// the module docs).
    fn candle_range(
        &self,
        interval: CandleInterval,
        start: Option<&Timestamp>,
        end: Option<&Timestamp>,
        exchanges: u32,
    ) -> Result<(UtcMicros, UtcMicros), ConvertError> {
        let end = optional_time("end_time", end)?.unwrap_or_else(UtcMicros::now);
        let start = optional_time("start_time", start)?
            .unwrap_or_else(|| self.reader.default_start(interval, end, exchanges));
        Ok((start, end))
    }
}

#[tonic::async_trait]
impl HistoryService for HistoryGrpc {
    async fn get_latest_tickers(
        &self,
        request: Request<GetLatestTickersRequest>,
    ) -> Result<Response<GetLatestTickersResponse>, Status> {
        let market = market_from_text("market", &request.get_ref().market)?;
        let latest = self.reader.latest_tickers(market).await.map_err(status)?;
        let tickers = latest
            .tickers
            .iter()
            .map(|latest| {
                let t = &latest.ticker;
                wire::LatestTicker {
                    exchange: exchange_to_wire(t.exchange) as i32,
                    market: Some(market_to_wire(t.market)),
                    ticker: Some(ticker_to_wire(&t.data)),
                    exchange_time: Some(time_to_wire(t.exchange_time)),
                    book_time: latest.book_time.map(time_to_wire),
                }
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
        let page = page_request(
            r.exchange,
            &r.market,
            r.start_time.as_ref(),
            r.end_time.as_ref(),
            r.page_size,
            &r.page_token,
        )?;
        let page = self.reader.trades_page(&page).await.map_err(status)?;
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

    async fn list_tickers(
        &self,
        request: Request<ListTickersRequest>,
    ) -> Result<Response<ListTickersResponse>, Status> {
        let r = request.get_ref();
        let page = page_request(
            r.exchange,
            &r.market,
            r.start_time.as_ref(),
            r.end_time.as_ref(),
            r.page_size,
            &r.page_token,
        )?;
        let page = self.reader.tickers_page(&page).await.map_err(status)?;
        let tickers = page
            .tickers
            .iter()
            .map(|t| wire::StoredTicker {
                ticker: Some(ticker_to_wire(&t.data)),
                exchange_time: Some(time_to_wire(t.exchange_time)),
                received_time: Some(time_to_wire(t.received_time)),
            })
            .collect();
        Ok(Response::new(ListTickersResponse {
            tickers,
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
        let (start, end) =
            self.candle_range(interval, r.start_time.as_ref(), r.end_time.as_ref(), 1)?;
        let candles = self
            .reader
            .candles(exchange, market, interval, start, end)
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
        let (start, end) =
            self.candle_range(interval, r.start_time.as_ref(), r.end_time.as_ref(), 2)?;
        let points = self
            .reader
            .spread_history(market, base, other, interval, start, end)
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
