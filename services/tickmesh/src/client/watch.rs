//! `tickmesh watch <market>`: a live table across exchanges (last price, 24 h change, best bid
//! and ask) and the spread between the highest and lowest last price.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::Duration;

use tickmesh_domain::{Decimal, Exchange, MarketEvent, Payload};
use tickmesh_proto::convert::event_from_wire;
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tokio::time::Instant;

use super::{ServerArgs, explain, print_table};

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
}

/// What the table shows for one exchange.
#[derive(Debug, Default, Clone)]
struct Row {
    last: Option<Decimal>,
    prev_close: Option<Decimal>,
    bid: Option<Decimal>,
    ask: Option<Decimal>,
    events: u64,
}

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
        match response.item {
            Some(Item::Event(event)) => {
                if let Ok(event) = event_from_wire(&event) {
                    apply(&mut rows, &event);
                }
            }
            Some(Item::Lagged(l)) => missed += l.missed,
            Some(Item::Gap(_)) | None => {}
        }
        if drawn.elapsed() >= Duration::from_millis(500) {
            draw(&args.market, &rows, missed, live);
            drawn = Instant::now();
        }
    }
    draw(&args.market, &rows, missed, false);
    Ok(())
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

fn text(d: Option<Decimal>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| d.normalize().to_string())
}

fn draw(market: &str, rows: &BTreeMap<Exchange, Row>, missed: u64, clear: bool) {
    if clear {
        print!("\x1b[2J\x1b[H");
    }
    println!("{market} (Ctrl-C stops)");
    let mut table = vec![
        ["EXCHANGE", "LAST", "CHANGE", "BID", "ASK", "EVENTS"]
            .map(String::from)
            .to_vec(),
    ];
    for (exchange, row) in rows {
        let change = match (row.last, row.prev_close) {
            (Some(last), Some(prev)) if !prev.is_zero() => {
                format!("{:+.2}%", (last - prev) / prev * Decimal::ONE_HUNDRED)
            }
            _ => "-".to_owned(),
        };
        table.push(vec![
            exchange.to_string(),
            text(row.last),
            change,
            text(row.bid),
            text(row.ask),
            row.events.to_string(),
        ]);
    }
    print_table(&table);
    let lasts: Vec<(Exchange, Decimal)> = rows
        .iter()
        .filter_map(|(e, r)| r.last.map(|l| (*e, l)))
        .collect();
    if let (Some(high), Some(low)) = (
        lasts.iter().max_by_key(|(_, l)| *l),
        lasts.iter().min_by_key(|(_, l)| *l),
    ) && lasts.len() > 1
    {
        let spread = high.1 - low.1;
        let percent = if low.1.is_zero() {
            Decimal::ZERO
        } else {
            spread / low.1 * Decimal::ONE_HUNDRED
        };
        println!(
            "spread: {} ({:.3}%), {} over {}",
            spread.normalize(),
            percent,
            high.0,
            low.0
        );
    }
    if missed > 0 {
        println!("this terminal fell behind: {missed} events skipped");
    }
}
