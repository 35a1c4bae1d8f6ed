//! `tickmesh watch <market>`: for people, a live table across exchanges (last price, 24 h
//! change, best bid and ask) and the spread between the highest and lowest last price; for
//! scripts, every event as it arrives (`--output ndjson`, or a JSON array or CSV).

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use tickmesh_domain::{Decimal, Exchange, MarketEvent, Payload, Side};
use tickmesh_proto::convert::event_from_wire;
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tokio::time::Instant;

use crate::output::{Column, Format, OutputArgs, Printer, Shape, Value, shown};
use crate::render::{grouped, percent};
use crate::server::{ServerArgs, explain};
use crate::wire::{exchange_text, market_text, time};

/// Options of `tickmesh watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The market, in any spelling.
    market: String,
    /// Stop after this long (runs until Ctrl-C when unset), such as 30s or 5m.
    #[arg(long = "for", value_parser = tickmesh_bootstrap::config::parse_duration)]
    duration: Option<Duration>,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The fields of a streamed item: an event (`kind` ticker, trade or order_book), `lagged`
/// (this client fell behind and `missed` events were skipped) or `gap` (ingestion lost the
/// exchange between `gap_from` and `gap_to`). Fields that do not apply to a kind are null.
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
];

/// What the table shows for one exchange.
#[derive(Debug, Default, Clone)]
struct Row {
    last: Option<Decimal>,
    prev_close: Option<Decimal>,
    bid: Option<Decimal>,
    ask: Option<Decimal>,
    events: u64,
}

/// Runs `tickmesh watch` until `--for` ends, Ctrl-C, or the server ends the stream.
pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let mut client = TickStreamServiceClient::new(args.server.connect().await?);
    let request = wire::StreamTicksRequest {
        exchanges: Vec::new(),
        markets: vec![args.market.clone()],
        kinds: Vec::new(),
    };
    let mut stream = client
        .stream_ticks(args.server.request(request)?)
        .await
        .map_err(explain)?
        .into_inner();
    let deadline = args.duration.map(|d| Instant::now() + d);
    let table = args.output.output == Format::Table;
    let mut printer = Printer::stdout(&args.output, COLUMNS, Shape::List);
    let live = std::io::stdout().is_terminal();
    let mut rows: BTreeMap<Exchange, Row> = BTreeMap::new();
    let mut missed = 0u64;
    let mut drawn = Instant::now();
    loop {
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, stream.message()).await.ok(),
                None => Some(stream.message().await),
            }
        };
        let message = tokio::select! {
            m = next => m,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(message) = message else { break };
        let Some(response) = message.map_err(explain)? else {
            anyhow::bail!("the server ended the stream");
        };
        let Some(item) = response.item else { continue };
        if !table {
            if let Some(record) = record(&item) {
                printer.row(record)?;
            }
            continue;
        }
        match item {
            Item::Event(event) => {
                if let Ok(event) = event_from_wire(&event) {
                    apply(&mut rows, &event);
                }
            }
            Item::Lagged(l) => missed += l.missed,
            Item::Gap(_) => {}
        }
        if drawn.elapsed() >= Duration::from_millis(500) {
            draw(&args.market, &rows, missed, live)?;
            drawn = Instant::now();
        }
    }
    if table {
        draw(&args.market, &rows, missed, false)?;
    } else {
        printer.finish(Vec::new(), &[])?;
    }
    Ok(())
}

/// A streamed item as a record of [`COLUMNS`]; `None` for an event this client cannot read.
fn record(item: &Item) -> Option<Vec<Value>> {
    let mut row = vec![Value::Null; COLUMNS.len()];
    let mut set = |name: &str, value: Value| {
        if let Some(i) = COLUMNS.iter().position(|c| c.name == name) {
            row[i] = value;
        }
    };
    match item {
        Item::Event(wire_event) => {
            let event = event_from_wire(wire_event).ok()?;
            set("exchange", Value::Text(event.exchange.to_string()));
            set("market", Value::Text(event.market.to_string()));
            set("time", Value::Time(event.exchange_time));
            set("received_time", Value::Time(event.received_time));
            let kind = match &event.payload {
                Payload::Trade(t) => {
                    set("trade_id", Value::Id(t.trade_id.0));
                    set("price", Value::Decimal(t.price));
                    set("size", Value::Decimal(t.size));
                    let side = match t.side {
                        Side::Buy => "buy",
                        Side::Sell => "sell",
                    };
                    set("side", Value::Text(side.to_owned()));
                    "trade"
                }
                Payload::Ticker(t) => {
                    set("last", Value::Decimal(t.last));
                    set("prev_close", Value::decimal(t.prev_close));
                    set("volume_24h", Value::decimal(t.volume_24h));
                    set("best_bid", Value::decimal(t.best_bid));
                    set("best_ask", Value::decimal(t.best_ask));
                    "ticker"
                }
                Payload::OrderBook(b) => {
                    let levels = |side: &[tickmesh_domain::Level]| {
                        Value::Levels(side.iter().map(|l| (l.price, l.size)).collect())
                    };
                    set("bids", levels(&b.bids));
                    set("asks", levels(&b.asks));
                    "order_book"
                }
            };
            set("kind", Value::Text(kind.to_owned()));
        }
        Item::Lagged(l) => {
            set("kind", Value::Text("lagged".to_owned()));
            set("missed", Value::Count(l.missed));
        }
        Item::Gap(g) => {
            set("kind", Value::Text("gap".to_owned()));
            set("exchange", Value::Text(exchange_text(g.exchange)));
            set("market", Value::Text(market_text(g.market.as_ref())));
            set("gap_from", Value::time(time(g.from_time.as_ref())));
            set("gap_to", Value::time(time(g.to_time.as_ref())));
            set("backfilled_trades", Value::Count(g.backfilled_trades));
            set(
                "missed_trades_unknown",
                Value::Text(g.missed_trades_unknown.to_string()),
            );
        }
    }
    Some(row)
}

fn apply(rows: &mut BTreeMap<Exchange, Row>, event: &MarketEvent) {
    let row = rows.entry(event.exchange).or_default();
    row.events += 1;
    match &event.payload {
        Payload::Trade(t) => row.last = Some(t.price),
        Payload::Ticker(t) => {
            row.last = Some(t.last);
            row.prev_close = t.prev_close.or(row.prev_close);
            row.bid = t.best_bid.or(row.bid);
            row.ask = t.best_ask.or(row.ask);
        }
        Payload::OrderBook(b) => {
            row.bid = b.bids.first().map(|l| l.price).or(row.bid);
            row.ask = b.asks.first().map(|l| l.price).or(row.ask);
        }
    }
}

/// The live table's columns.
const TABLE: &[Column] = &[
    shown("exchange", "EXCHANGE"),
    shown("last", "LAST"),
    shown("change", "CHANGE"),
    shown("bid", "BID"),
    shown("ask", "ASK"),
    shown("events", "EVENTS"),
];

fn draw(
    market: &str,
    rows: &BTreeMap<Exchange, Row>,
    missed: u64,
    clear: bool,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if clear {
        write!(out, "\x1b[2J\x1b[H")?;
    }
    writeln!(out, "{market} (Ctrl-C stops)")?;
    let table: Vec<Vec<Value>> = rows
        .iter()
        .map(|(exchange, row)| {
            let change = match (row.last, row.prev_close) {
                (Some(last), Some(prev)) if !prev.is_zero() => {
                    Value::Percent((last - prev) / prev * Decimal::ONE_HUNDRED)
                }
                _ => Value::Null,
            };
            vec![
                Value::Text(exchange.to_string()),
                Value::decimal(row.last),
                change,
                Value::decimal(row.bid),
                Value::decimal(row.ask),
                Value::Count(row.events),
            ]
        })
        .collect();
    crate::output::table::write(&mut out, TABLE, &table, crate::render::Zone::Local)?;
    let lasts: Vec<(Exchange, Decimal)> = rows
        .iter()
        .filter_map(|(e, r)| r.last.map(|l| (*e, l)))
        .collect();
    if let (Some(high), Some(low)) = (
        lasts.iter().max_by_key(|(_, l)| *l),
        lasts.iter().min_by_key(|(_, l)| *l),
    ) && lasts.len() > 1
        && !low.1.is_zero()
    {
        let spread = high.1 - low.1;
        writeln!(
            out,
            "spread: {} ({}), {} over {}",
            grouped(spread, spread.normalize().scale()),
            percent(spread / low.1 * Decimal::ONE_HUNDRED),
            high.0,
            low.0
        )?;
    }
    if missed > 0 {
        writeln!(out, "this terminal fell behind: {missed} events skipped")?;
    }
    out.flush()
}
