//! `tickmesh history`, `compare` and `feeds`: stored candles, the cross-exchange view and the
//! feeds' status, as tables.

use anyhow::Context as _;
use prost_types::Timestamp;
use tickmesh_domain::{CandleInterval, Exchange, UtcMicros};
use tickmesh_proto::bridge::v1::bridge_service_client::BridgeServiceClient;
use tickmesh_proto::convert::{
    exchange_from_wire, exchange_to_wire, interval_to_wire, time_to_wire,
};
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;
use tickmesh_proto::ingestion::v1 as ingestion;
use tickmesh_proto::ingestion::v1::ingestion_service_client::IngestionServiceClient;
use tickmesh_proto::market::v1 as market;

use super::{ServerArgs, explain, print_table};

/// Options of `tickmesh history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The market, in any spelling.
    market: String,
    /// The exchange.
    #[arg(long, default_value = "upbit")]
    exchange: String,
    /// Candle width: 1m, 5m, 15m, 1h or 1d.
    #[arg(long, default_value = "1m")]
    interval: CandleInterval,
    /// How far back from now, such as 30m, 6h or 7d.
    #[arg(long, default_value = "1h", value_parser = tickmesh_bootstrap::config::parse_duration)]
    since: std::time::Duration,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `tickmesh compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The market, in any spelling.
    market: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `tickmesh feeds`.
#[derive(Debug, clap::Args)]
pub struct FeedsArgs {
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) fn parse_exchange(text: &str) -> anyhow::Result<Exchange> {
    text.parse::<Exchange>()
        .with_context(|| format!("unknown exchange {text:?}: expected upbit, bithumb or korbit"))
}

pub(crate) fn exchange_name(value: i32) -> String {
    match exchange_from_wire("exchange", value) {
        Ok(Some(e)) => e.to_string(),
        _ => "?".to_owned(),
    }
}

pub(crate) fn market_name(market: Option<&market::Market>) -> String {
    market.map_or_else(|| "?".to_owned(), |m| format!("{}/{}", m.base, m.quote))
}

pub(crate) fn time_text(t: Option<&Timestamp>) -> String {
    t.map_or_else(String::new, |t| {
        UtcMicros::from_seconds_and_nanos(t.seconds, t.nanos).to_string()
    })
}

pub async fn run_history(args: HistoryArgs) -> anyhow::Result<()> {
    let mut client = HistoryServiceClient::new(args.server.connect().await?);
    let now = UtcMicros::now();
    let since = i64::try_from(args.since.as_micros()).context("--since is too long")?;
    let request = history::ListCandlesRequest {
        exchange: exchange_to_wire(parse_exchange(&args.exchange)?) as i32,
        market: args.market.clone(),
        interval: interval_to_wire(args.interval) as i32,
        start_time: Some(time_to_wire(UtcMicros(now.as_micros() - since))),
        end_time: Some(time_to_wire(now)),
    };
    let candles = client
        .list_candles(args.server.request(request)?)
        .await
        .map_err(explain)?
        .into_inner()
        .candles;
    let mut rows = vec![
        [
            "OPEN TIME",
            "OPEN",
            "HIGH",
            "LOW",
            "CLOSE",
            "VOLUME",
            "TRADES",
        ]
        .map(String::from)
        .to_vec(),
    ];
    rows.extend(candles.iter().map(|c| {
        vec![
            time_text(c.open_time.as_ref()),
            c.open.clone(),
            c.high.clone(),
            c.low.clone(),
            c.close.clone(),
            c.volume.clone(),
            c.trade_count.to_string(),
        ]
    }));
    print_table(&rows);
    if candles.is_empty() {
        println!(
            "no {} candles for {} on {} in the last {:?}",
            args.interval, args.market, args.exchange, args.since
        );
    }
    Ok(())
}

pub async fn run_compare(args: CompareArgs) -> anyhow::Result<()> {
    let mut client = HistoryServiceClient::new(args.server.connect().await?);
    let request = history::GetLatestTickersRequest {
        market: args.market.clone(),
    };
    let reply = client
        .get_latest_tickers(args.server.request(request)?)
        .await
        .map_err(explain)?
        .into_inner();
    let mut rows = vec![
        ["EXCHANGE", "LAST", "BID", "ASK", "24H VOLUME", "AT"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(reply.tickers.iter().map(|t| {
        let ticker = t.ticker.clone().unwrap_or_default();
        vec![
            exchange_name(t.exchange),
            ticker.last,
            ticker.best_bid,
            ticker.best_ask,
            ticker.volume_24h,
            time_text(t.exchange_time.as_ref()),
        ]
    }));
    print_table(&rows);
    if reply.spread.is_empty() {
        println!("spread: needs tickers from two exchanges");
    } else {
        println!(
            "spread: {} ({}%), highest {}, lowest {}",
            reply.spread,
            reply.spread_percent,
            exchange_name(reply.highest),
            exchange_name(reply.lowest)
        );
    }
    Ok(())
}

pub async fn run_feeds(args: FeedsArgs) -> anyhow::Result<()> {
    let channel = args.server.connect().await?;
    let feeds = IngestionServiceClient::new(channel.clone())
        .list_feeds(args.server.request(ingestion::ListFeedsRequest {})?)
        .await
        .map_err(explain)?
        .into_inner()
        .feeds;
    let mut rows = vec![
        [
            "EXCHANGE",
            "STATE",
            "MARKETS",
            "EVENTS/S",
            "MESSAGES",
            "RECONNECTS",
            "GAPS",
            "REJECTED",
            "LAST MESSAGE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    rows.extend(feeds.iter().map(|f| {
        let state = ingestion::FeedState::try_from(f.state).map_or_else(
            |_| "?".to_owned(),
            |s| {
                s.as_str_name()
                    .trim_start_matches("FEED_STATE_")
                    .to_ascii_lowercase()
            },
        );
        let markets: Vec<String> = f.markets.iter().map(|m| market_name(Some(m))).collect();
        vec![
            exchange_name(f.exchange),
            state,
            markets.join(","),
            format!("{:.1}", f.events_per_second),
            f.messages.to_string(),
            f.reconnects.to_string(),
            f.gaps.to_string(),
            // Frames and events refused at the edge, all reasons (`ListFeeds` has each).
            f.rejected.iter().map(|r| r.count).sum::<u64>().to_string(),
            time_text(f.last_message_time.as_ref()),
        ]
    }));
    print_table(&rows);
    // The bridge runs beside ingestion in `tickmesh up`; elsewhere it may be another process.
    if let Ok(stats) = BridgeServiceClient::new(channel)
        .get_stats(
            args.server
                .request(tickmesh_proto::bridge::v1::GetStatsRequest {})?,
        )
        .await
    {
        let s = stats.into_inner();
        println!(
            "bridge: {} forwarded, {:.0}/s, lag {}, pending {}, {} dead-lettered",
            s.forwarded, s.events_per_second, s.lag, s.pending, s.dead_lettered
        );
    }
    Ok(())
}
