//! The live table `tickmesh watch` draws for people: a row per exchange, the spread between
//! the highest and lowest last price, and notes on what it could not show.

use std::collections::BTreeMap;
use std::io::Write as _;

use tickmesh_domain::{Decimal, Exchange, MarketEvent, Payload};
use tickmesh_proto::convert::event_from_wire;
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;

use crate::output::{Column, Value, shown};
use crate::render::{grouped, percent};

/// What the table shows for one exchange.
#[derive(Debug, Default, Clone)]
pub(super) struct Row {
    last: Option<Decimal>,
    prev_close: Option<Decimal>,
    bid: Option<Decimal>,
    ask: Option<Decimal>,
    pub(super) events: u64,
}

/// What the live table shows.
#[derive(Debug, Default)]
pub(super) struct View {
    pub(super) rows: BTreeMap<Exchange, Row>,
    /// Events this terminal fell behind by.
    pub(super) missed: u64,
    /// Whether the latest item was replayed from history.
    pub(super) replaying: bool,
    /// Stretches a replay could not reach, the latest few.
    pub(super) notes: Vec<String>,
}

/// Notes of unreachable history a table keeps.
const TABLE_NOTES: usize = 3;

impl View {
    /// Takes in one streamed item, and `note` on history it could not reach.
    pub(super) fn apply(&mut self, response: &wire::StreamTicksResponse, note: Option<String>) {
        self.replaying = response.replayed;
        match &response.item {
            Some(Item::Event(event)) => {
                if let Ok(event) = event_from_wire(event) {
                    apply(&mut self.rows, &event);
                }
            }
            Some(Item::Lagged(l)) => self.missed += l.missed,
            Some(Item::Gap(_)) | None => {}
        }
        if let Some(note) = note {
            if self.notes.len() == TABLE_NOTES {
                self.notes.remove(0);
            }
            self.notes.push(note);
        }
    }
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

/// Draws the table (clearing the terminal first with `clear`).
pub(super) fn draw(market: &str, view: &View, clear: bool) -> std::io::Result<()> {
    let (rows, missed) = (&view.rows, view.missed);
    let mut out = std::io::stdout().lock();
    if clear {
        write!(out, "\x1b[2J\x1b[H")?;
    }
    if view.replaying {
        writeln!(out, "{market} (replaying history; Ctrl-C stops)")?;
    } else {
        writeln!(out, "{market} (Ctrl-C stops)")?;
    }
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
    for note in &view.notes {
        writeln!(out, "{note}")?;
    }
    out.flush()
}
