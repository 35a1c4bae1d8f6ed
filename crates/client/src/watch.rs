//! `tickmesh watch <market>`: for people, a live table across exchanges (last price, 24 h
//! change, best bid and ask) and the spread between the highest and lowest last price; for
//! scripts, every event as it arrives (`--output ndjson`, or a JSON array or CSV).
//!
//! `--since` and `--resume` replay history first ([`resume`]); whatever ends a watch, it says
//! on standard error the cursor of the last item it received and how to resume after it.

mod record;
pub mod resume;
mod table;
#[cfg(test)]
mod tests;

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use anyhow::Context as _;
use tickmesh_domain::UtcMicros;
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tokio::time::Instant;

use crate::output::{Column, Format, OutputArgs, Printer, Shape, shown};
use crate::server::{ServerArgs, explain};
use resume::Progress;
use table::{View, draw};

/// Options of `tickmesh watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The market, in any spelling.
    market: String,
    /// Stop after this long (runs until Ctrl-C when unset), such as 30s or 5m.
    #[arg(long = "for", value_parser = tickmesh_bootstrap::config::parse_duration)]
    duration: Option<Duration>,
    /// First replay the market's events from this long ago, such as 10m or 2h (what history
    /// still holds), then go on live.
    #[arg(long, value_parser = resume::parse_since, value_name = "DURATION", conflicts_with = "resume")]
    since: Option<Duration>,
    /// First replay the market's events after this cursor (printed on exit and in the cursor
    /// field), then go on live: no event missed or repeated between two watches.
    #[arg(long, value_parser = resume::parse_cursor, value_name = "CURSOR")]
    resume: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The fields of a streamed item: an event (`kind` ticker, trade or order_book), `lagged`
/// (this client fell behind and `missed` events were skipped, between `after_cursor` and
/// `before_cursor`) or `gap` (`gap_cause` `feed_outage`: ingestion lost the exchange between
/// `gap_from` and `gap_to`; `not_retained`: a replay reached further back than history holds,
/// from `gap_from` to `gap_to` and between `after_cursor` and `before_cursor`). Every item
/// has its `cursor` (a marker's is that of the event before it) and whether it was
/// `replayed` from history. Fields that do not apply to a kind are null.
pub const COLUMNS: &[Column] = &[
    shown("kind", "KIND"),
    shown("exchange", "EXCHANGE"),
    shown("market", "MARKET"),
    shown("time", "TIME"),
    shown("received_time", "RECEIVED"),
    shown("trade_id", "TRADE ID"),
    shown("price", "PRICE"),
    shown("size", "SIZE"),
    shown("side", "SIDE"),
    shown("last", "LAST"),
    shown("prev_close", "PREV CLOSE"),
    shown("volume_24h", "24H VOLUME"),
    shown("best_bid", "BID"),
    shown("best_ask", "ASK"),
    shown("bids", "BIDS"),
    shown("asks", "ASKS"),
    shown("missed", "MISSED"),
    shown("gap_from", "GAP FROM"),
    shown("gap_to", "GAP TO"),
    shown("backfilled_trades", "BACKFILLED"),
    shown("missed_trades_unknown", "MISSED UNKNOWN"),
    shown("cursor", "CURSOR"),
    shown("replayed", "REPLAYED"),
    shown("gap_cause", "GAP CAUSE"),
    shown("after_cursor", "AFTER CURSOR"),
    shown("before_cursor", "BEFORE CURSOR"),
];

/// Runs `tickmesh watch` until `--for` ends, Ctrl-C or SIGTERM, or the stream ends; then says
/// on standard error which cursor to resume after ([`Progress::exit_lines`]).
pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let request = request(&args, UtcMicros::now())?;
    let mut client = TickStreamServiceClient::new(args.server.connect().await?);
    let mut stream = client
        .stream_ticks(args.server.request(request)?)
        .await
        .map_err(explain)?
        .into_inner();
    let mut progress = Progress::new(args.resume.clone());
    let result = follow(&args, &mut stream, &mut progress).await;
    let argv: Vec<String> = std::env::args().collect();
    let mut err = std::io::stderr().lock();
    for line in progress.exit_lines(&argv) {
        // Standard error closed: there is nowhere left to say it.
        let _ = writeln!(err, "{line}");
    }
    result
}

/// The request `args` ask for at `now`.
fn request(args: &WatchArgs, now: UtcMicros) -> anyhow::Result<wire::StreamTicksRequest> {
    Ok(wire::StreamTicksRequest {
        markets: vec![args.market.clone()],
        resume_after: args.resume.clone().unwrap_or_default(),
        start_time: args
            .since
            .map(|since| resume::start_time(now, since))
            .transpose()?,
        ..Default::default()
    })
}

/// Shows the stream until it or the watch ends, noting in `progress` what was shown.
async fn follow(
    args: &WatchArgs,
    stream: &mut tonic::Streaming<wire::StreamTicksResponse>,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let signal =
        tickmesh_bootstrap::terminate_signal().context("cannot install signal handlers")?;
    tokio::pin!(signal);
    let deadline = args.duration.map(|d| Instant::now() + d);
    let table = args.output.output == Format::Table;
    let zone = args.output.zone();
    let mut printer = Printer::stdout(&args.output, COLUMNS, Shape::List);
    let live = std::io::stdout().is_terminal();
    let mut view = View::default();
    let mut drawn = Instant::now();
    let ended = loop {
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, stream.message()).await.ok(),
                None => Some(stream.message().await),
            }
        };
        let message = tokio::select! {
            m = next => m,
            _ = &mut signal => None,
        };
        let response = match message {
            None => break Ok(()),
            Some(Err(status)) => break Err(explain(status)),
            Some(Ok(None)) => break Err(anyhow::anyhow!("the server ended the stream")),
            Some(Ok(Some(response))) => response,
        };
        let note = match &response.item {
            Some(Item::Gap(gap)) => record::not_retained(gap, zone),
            _ => None,
        };
        if table {
            view.apply(&response, note);
            if drawn.elapsed() >= Duration::from_millis(500) {
                draw(&args.market, &view, live)?;
                drawn = Instant::now();
            }
        } else {
            if let Some(row) = record::record(&response) {
                printer.row(row)?;
            }
            if let Some(note) = note {
                // Data stays on standard output; this is for the person running the script.
                let _ = writeln!(std::io::stderr().lock(), "watch: {note}");
            }
        }
        progress.note(&response);
    };
    if table {
        draw(&args.market, &view, false)?;
    } else {
        printer.finish(Vec::new(), &[])?;
    }
    ended
}
