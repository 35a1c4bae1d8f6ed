//! `tickmesh compare`: a market's latest prices across exchanges, and the spread between the
//! highest and the lowest.

use serde_json::Value as Json;
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;

use crate::output::{Column, OutputArgs, Printer, Shape, Value, machine, shown};
use crate::server::{ServerArgs, explain};
use crate::wire::{decimal, exchange_text, market_text, required_decimal, time};

/// Options of `tickmesh compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The market, in any spelling.
    market: String,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The fields of one exchange's latest ticker.
pub const COLUMNS: &[Column] = &[
    shown("exchange", "EXCHANGE"),
    machine("market"),
    shown("last", "LAST"),
    shown("bid", "BID"),
    shown("ask", "ASK"),
    shown("volume_24h", "24H VOLUME"),
    shown("time", "UPDATED"),
    machine("book_time"),
];

/// Runs `tickmesh compare`. JSON is one object: `tickers`, and `spread`, `spread_percent`,
/// `highest` and `lowest` (null with fewer than two exchanges).
///
/// Bid and ask come from the ticker, or, for exchanges whose tickers lack them, from the
/// latest stored order book; `book_time` tells which.
pub async fn run(args: CompareArgs) -> anyhow::Result<()> {
    let mut client = HistoryServiceClient::new(args.server.connect().await?);
    let request = history::GetLatestTickersRequest {
        market: args.market.clone(),
    };
    let reply = client
        .get_latest_tickers(args.server.request(request)?)
        .await
        .map_err(explain)?
        .into_inner();
    let mut printer = Printer::stdout(&args.output, COLUMNS, Shape::Object("tickers"));
    for t in &reply.tickers {
        let ticker = t.ticker.clone().unwrap_or_default();
        printer.row(vec![
            Value::Text(exchange_text(t.exchange)),
            Value::Text(market_text(t.market.as_ref())),
            Value::Decimal(required_decimal("last", &ticker.last)?),
            Value::decimal(decimal("best_bid", &ticker.best_bid)?),
            Value::decimal(decimal("best_ask", &ticker.best_ask)?),
            Value::decimal(decimal("volume_24h", &ticker.volume_24h)?),
            time(t.exchange_time.as_ref()).map_or(Value::Null, Value::Age),
            Value::time(time(t.book_time.as_ref())),
        ])?;
    }
    let spread = decimal("spread", &reply.spread)?;
    let percent = decimal("spread_percent", &reply.spread_percent)?;
    let (extra, note) = match (spread, percent) {
        (Some(spread), Some(percent)) => {
            let (highest, lowest) = (exchange_text(reply.highest), exchange_text(reply.lowest));
            let note = format!(
                "spread: {} ({}), highest {highest}, lowest {lowest}",
                crate::render::grouped(spread, spread.normalize().scale()),
                crate::render::percent(percent),
            );
            let extra = vec![
                ("spread", Value::Decimal(spread).to_json()),
                ("spread_percent", Value::Decimal(percent).to_json()),
                ("highest", Json::String(highest)),
                ("lowest", Json::String(lowest)),
            ];
            (extra, note)
        }
        _ => (
            ["spread", "spread_percent", "highest", "lowest"]
                .map(|k| (k, Json::Null))
                .to_vec(),
            "spread: needs tickers from two exchanges".to_owned(),
        ),
    };
    printer.finish(extra, &[note])?;
    Ok(())
}
