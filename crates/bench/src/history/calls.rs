//! The `HistoryService` calls the bench times, as a client makes them over gRPC, and what
//! each must return given what was filled.
//!
//! Calls go one at a time on one channel (latency, not throughput), round after round, each
//! round making every call once on the next market and exchange, so a slow moment of a shared
//! machine touches every call alike. A call that returns other than the filled history says it
//! should is counted as a problem: a fast wrong answer is not a result.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use tickmesh_domain::{CandleInterval, Exchange};
use tickmesh_proto::convert::{exchange_to_wire, interval_to_wire, time_to_wire};
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;
use tickmesh_proto::history::v1::{
    GetLatestTickersRequest, GetSpreadHistoryRequest, ListCandlesRequest, ListTickersRequest,
    ListTradesRequest,
};
use tonic::transport::{Channel, Endpoint};

use super::shape::{DAY_US, HOUR_US, MINUTE_US, Shape};
use crate::latency::{Latency, Percentiles};

/// Rows a trade or ticker page asks for: the most the service returns in one page.
const PAGE: u32 = 1000;
/// Rounds made before measuring: connections, plans and caches settle.
const WARMUP_ROUNDS: u32 = 2;
/// A deadline per call far beyond any answer, so a stuck call fails the run.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What one call measured.
#[derive(Debug, Clone, Serialize)]
pub struct CallFigures {
    /// The call and its range, as the table shows it.
    pub call: String,
    /// Rows (tickers, trades, candles, points) one answer holds, from the last call.
    pub rows: u64,
    /// Latency from sending the request to holding the decoded answer.
    pub latency: Percentiles,
    /// Answers that did not hold what the filled history says they should.
    pub wrong: u64,
}

/// The calls, in report order.
#[derive(Debug, Clone, Copy)]
enum Call {
    LatestTickers,
    TradesRecent,
    TradesOld,
    Candles(CandleInterval, i64),
    Spread,
    TickersRecent,
}

impl Call {
    fn all() -> [Call; 8] {
        [
            Call::LatestTickers,
            Call::TradesRecent,
            Call::TradesOld,
            Call::Candles(CandleInterval::OneMinute, DAY_US),
            Call::Candles(CandleInterval::OneHour, 30 * DAY_US),
            Call::Candles(CandleInterval::OneDay, 365 * DAY_US),
            Call::Spread,
            Call::TickersRecent,
        ]
    }
}

/// How far back the old trade page starts: six days, or the oldest hour filled when trades
/// span less than a week.
fn old_page_back(shape: &Shape) -> i64 {
    (6 * DAY_US).min(shape.anchor - shape.trades.from)
}

fn label(call: Call, shape: &Shape) -> String {
    match call {
        Call::LatestTickers => "GetLatestTickers".to_owned(),
        Call::TradesRecent => format!("ListTrades {PAGE}, last hour"),
        Call::TradesOld => format!(
            "ListTrades {PAGE}, hour {:.0} h back",
            old_page_back(shape) as f64 / HOUR_US as f64
        ),
        Call::Candles(interval, span) => {
            format!("ListCandles {interval}, {} d", span / DAY_US)
        }
        Call::Spread => "GetSpreadHistory 1h, 7 d".to_owned(),
        Call::TickersRecent => format!("ListTickers {PAGE}, last hour"),
    }
}

/// Connects to the storage service's gRPC listener.
pub(crate) async fn connect(addr: &str) -> anyhow::Result<HistoryServiceClient<Channel>> {
    let channel = Endpoint::from_shared(addr.to_owned())
        .context("invalid storage address")?
        .timeout(CALL_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("cannot connect to storage's HistoryService at {addr}"))?;
    Ok(HistoryServiceClient::new(channel))
}

/// Makes [`WARMUP_ROUNDS`] rounds of every call, timing none: storage's pool opens its
/// connections, PostgreSQL plans and caches settle, before anything is measured.
pub(crate) async fn warm_up(
    client: &mut HistoryServiceClient<Channel>,
    shape: &Shape,
    markets: usize,
) -> anyhow::Result<()> {
    measure(client, shape, markets, WARMUP_ROUNDS)
        .await
        .map(drop)
}

/// Makes `rounds` rounds of every call and returns each call's figures.
pub(crate) async fn measure(
    client: &mut HistoryServiceClient<Channel>,
    shape: &Shape,
    markets: usize,
    rounds: u32,
) -> anyhow::Result<Vec<CallFigures>> {
    let calls = Call::all();
    let mut latencies: Vec<Latency> = calls.iter().map(|_| Latency::new()).collect();
    let mut rows = vec![0u64; calls.len()];
    let mut wrong = vec![0u64; calls.len()];
    for round in 0..rounds {
        let exchange = Exchange::ALL[round as usize % Exchange::ALL.len()];
        let market = round as usize % markets.max(1);
        for (c, call) in calls.iter().enumerate() {
            let started = Instant::now();
            let (got, want) = one(client, shape, *call, exchange, market)
                .await
                .with_context(|| format!("{} failed", label(*call, shape)))?;
            latencies[c].record(started.elapsed());
            rows[c] = got;
            wrong[c] += u64::from(got != want);
        }
    }
    Ok(calls
        .iter()
        .enumerate()
        .map(|(c, call)| CallFigures {
            call: label(*call, shape),
            rows: rows[c],
            latency: latencies[c].percentiles(),
            wrong: wrong[c],
        })
        .collect())
}

/// Makes one call; returns the rows it got and the rows the filled history says it should.
async fn one(
    client: &mut HistoryServiceClient<Channel>,
    shape: &Shape,
    call: Call,
    exchange: Exchange,
    market: usize,
) -> anyhow::Result<(u64, u64)> {
    let pair = shape.pair(exchange, market);
    let name = pair.market.to_string();
    let anchor = shape.anchor;
    let at = |us: i64| Some(time_to_wire(tickmesh_domain::UtcMicros(us)));
    let page = |filled: u64| filled.min(u64::from(PAGE));
    Ok(match call {
        Call::LatestTickers => {
            let r = client
                .get_latest_tickers(GetLatestTickersRequest { market: name })
                .await?
                .into_inner();
            // Every exchange's ticker, and a spread between them.
            let complete = r.tickers.len() == Exchange::ALL.len() && !r.spread.is_empty();
            (r.tickers.len() as u64, if complete { 3 } else { u64::MAX })
        }
        Call::TradesRecent | Call::TradesOld => {
            let start = match call {
                Call::TradesRecent => anchor - HOUR_US,
                _ => anchor - old_page_back(shape),
            };
            let r = client
                .list_trades(ListTradesRequest {
                    exchange: exchange_to_wire(exchange) as i32,
                    market: name,
                    start_time: at(start),
                    end_time: at(start + HOUR_US),
                    page_size: PAGE,
                    page_token: String::new(),
                })
                .await?
                .into_inner();
            let filled = shape.trades.count(pair.k, start, start + HOUR_US);
            (r.trades.len() as u64, page(filled))
        }
        Call::Candles(interval, span) => {
            let r = client
                .list_candles(ListCandlesRequest {
                    exchange: exchange_to_wire(exchange) as i32,
                    market: name,
                    interval: interval_to_wire(interval) as i32,
                    start_time: at(anchor - span),
                    end_time: at(anchor),
                })
                .await?
                .into_inner();
            let width = i64::try_from(interval.duration().as_micros()).unwrap_or(MINUTE_US);
            (
                r.candles.len() as u64,
                shape.buckets(width, anchor - span, anchor),
            )
        }
        Call::Spread => {
            let (base, other) = (Exchange::ALL[0], Exchange::ALL[1]);
            let r = client
                .get_spread_history(GetSpreadHistoryRequest {
                    market: name,
                    base_exchange: exchange_to_wire(base) as i32,
                    other_exchange: exchange_to_wire(other) as i32,
                    interval: interval_to_wire(CandleInterval::OneHour) as i32,
                    start_time: at(anchor - 7 * DAY_US),
                    end_time: at(anchor),
                })
                .await?
                .into_inner();
            (
                r.points.len() as u64,
                shape.buckets(HOUR_US, anchor - 7 * DAY_US, anchor),
            )
        }
        Call::TickersRecent => {
            let start = anchor - HOUR_US;
            let r = client
                .list_tickers(ListTickersRequest {
                    exchange: exchange_to_wire(exchange) as i32,
                    market: name,
                    start_time: at(start),
                    end_time: at(anchor),
                    page_size: PAGE,
                    page_token: String::new(),
                })
                .await?
                .into_inner();
            (
                r.tickers.len() as u64,
                page(shape.tickers.count(pair.k, start, anchor)),
            )
        }
    })
}
