//! A streamed item as a record for scripts, and the note people get for history a replay
//! could not reach.

use tickmesh_domain::{Payload, Side};
use tickmesh_proto::convert::event_from_wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::{Gap, GapCause, StreamTicksResponse};

use super::COLUMNS;
use crate::output::Value;
use crate::render::{Zone, human_time};
use crate::wire::{exchange_text, market_text, time};

/// A cursor field: null when the server sent none.
fn cursor(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        Value::Text(text.to_owned())
    }
}

/// A gap's cause for scripts: `feed_outage`, `not_retained`, or `unknown` for a cause this
/// client does not know. Servers that predate causes sent only feed outages.
fn gap_cause(gap: &Gap) -> &'static str {
    match GapCause::try_from(gap.cause) {
        Ok(GapCause::Unspecified | GapCause::FeedOutage) => "feed_outage",
        Ok(GapCause::NotRetained) => "not_retained",
        Err(_) => "unknown",
    }
}

/// For a gap of history that is not retained, what people are told about it.
pub(super) fn not_retained(gap: &Gap, zone: Zone) -> Option<String> {
    if gap.cause != GapCause::NotRetained as i32 {
        return None;
    }
    let at = |t| human_time(t, zone, true);
    let stretch = match (time(gap.from_time.as_ref()), time(gap.to_time.as_ref())) {
        (Some(from), Some(to)) => format!("from {} to {}", at(from), at(to)),
        (None, Some(to)) => format!("before {}", at(to)),
        (Some(from), None) => format!("after {}", at(from)),
        (None, None) => "for part of the replay".to_owned(),
    };
    Some(format!(
        "history not retained {stretch}: events in that stretch cannot be replayed"
    ))
}

/// A streamed item as a record of [`COLUMNS`]; `None` for an event this client cannot read.
pub(super) fn record(response: &StreamTicksResponse) -> Option<Vec<Value>> {
    let item = response.item.as_ref()?;
    let mut row = vec![Value::Null; COLUMNS.len()];
    let mut set = |name: &str, value: Value| {
        if let Some(i) = COLUMNS.iter().position(|c| c.name == name) {
            row[i] = value;
        }
    };
    set("cursor", cursor(&response.cursor));
    set("replayed", Value::Text(response.replayed.to_string()));
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
            set("after_cursor", cursor(&l.after_cursor));
            set("before_cursor", cursor(&l.before_cursor));
        }
        Item::Gap(g) => {
            set("kind", Value::Text("gap".to_owned()));
            // History that is not retained is no one exchange's or market's.
            if g.exchange != 0 || g.market.is_some() {
                set("exchange", Value::Text(exchange_text(g.exchange)));
                set("market", Value::Text(market_text(g.market.as_ref())));
            }
            set("gap_from", Value::time(time(g.from_time.as_ref())));
            set("gap_to", Value::time(time(g.to_time.as_ref())));
            set("backfilled_trades", Value::Count(g.backfilled_trades));
            set(
                "missed_trades_unknown",
                Value::Text(g.missed_trades_unknown.to_string()),
            );
            set("gap_cause", Value::Text(gap_cause(g).to_owned()));
            set("after_cursor", cursor(&g.after_cursor));
            set("before_cursor", cursor(&g.before_cursor));
        }
    }
    Some(row)
}
