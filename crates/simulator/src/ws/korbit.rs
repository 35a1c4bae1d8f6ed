//! Korbit request handling: incremental subscribe and unsubscribe with acknowledgements; the
//! socket stays open after errors.

use std::collections::BTreeSet;

use serde_json::Value;
use tickmesh_domain::{Exchange, Market};

use super::{Dialect, Reply};
use crate::engine::{Engine, SimEvent};
use crate::render::korbit as render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Ticker,
    Trade,
    Book,
}

/// The connection state of a Korbit socket.
pub(crate) struct Korbit {
    subs: BTreeSet<(Kind, Market)>,
}

impl Korbit {
    /// The markets subscribed, any kind.
    pub(crate) fn markets(&self) -> BTreeSet<Market> {
        self.subs.iter().map(|(_, m)| *m).collect()
    }

    pub(crate) fn new() -> Self {
        Self {
            subs: BTreeSet::new(),
        }
    }
}

const LEVELS: [&str; 7] = ["1", "10", "100", "1000", "10000", "100000", "1000000"];

impl Dialect for Korbit {
    fn binary(&self) -> bool {
        false
    }

    fn answers_text_ping(&self) -> bool {
        false
    }

    fn server_pings(&self) -> bool {
        true
    }

    fn idle_cut(&self) -> bool {
        false
    }

    fn subscribed(&self) -> std::collections::BTreeSet<Market> {
        self.markets()
    }

    fn poison(&self, poison: crate::Poison, engine: &Engine, now_ms: i64) -> Option<String> {
        let market = self.markets().into_iter().next()?;
        let mid = super::mid_price(engine, market);
        crate::render::poison::korbit(market, poison, mid, now_ms)
    }

    fn request(&mut self, text: &str, engine: &Engine, now_ms: i64) -> Reply {
        let Ok(Value::Array(objects)) = serde_json::from_str::<Value>(text) else {
            return Reply {
                frames: vec![render::fail(None, "invalid_format", None)],
                close: false,
            };
        };
        let mut frames = Vec::new();
        for object in &objects {
            let request_id = object.get("requestId").and_then(Value::as_u64);
            let subscribe = match object.get("method").and_then(Value::as_str) {
                Some("subscribe") => true,
                Some("unsubscribe") => false,
                _ => {
                    frames.push(render::fail(
                        Some("INVALID_REQUEST"),
                        "unknown_method",
                        request_id,
                    ));
                    continue;
                }
            };
            let kind = match object.get("type").and_then(Value::as_str) {
                Some("ticker") => Kind::Ticker,
                Some("trade") => Kind::Trade,
                Some("orderbook") => Kind::Book,
                _ => {
                    frames.push(render::fail(
                        Some("INVALID_REQUEST"),
                        "unknown_type",
                        request_id,
                    ));
                    continue;
                }
            };
            if let Some(level) = object.get("level").and_then(Value::as_str)
                && !LEVELS.contains(&level)
            {
                frames.push(render::fail(
                    Some("INVALID_REQUEST"),
                    "invalid_level",
                    request_id,
                ));
                continue;
            }
            let symbols: Vec<&str> = object
                .get("symbols")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut unknown = None;
            let mut snapshots = Vec::new();
            for symbol in symbols {
                // Symbols are case-sensitive: `BTC_KRW` is not `btc_krw`.
                let market = Market::from_exchange_symbol(Exchange::Korbit, symbol)
                    .ok()
                    .filter(|m| {
                        m.to_exchange_symbol(Exchange::Korbit) == symbol && engine.lists(*m)
                    });
                let Some(market) = market else {
                    unknown.get_or_insert(symbol.to_owned());
                    continue;
                };
                if subscribe {
                    self.subs.insert((kind, market));
                    snapshots.push(market);
                } else {
                    self.subs.remove(&(kind, market));
                }
            }
            match (unknown, request_id) {
                (Some(symbol), id) => frames.push(render::fail(
                    Some("INVALID_SYMBOL"),
                    &format!("The symbol does not exist ({symbol})"),
                    id,
                )),
                (None, Some(id)) => frames.push(render::ack(id)),
                (None, None) => {}
            }
            for market in snapshots {
                if let Some((trade, ticker, book)) = engine.snapshot(market) {
                    let frame = match kind {
                        Kind::Ticker => Some(render::ticker(market, &ticker, &book, true)),
                        Kind::Trade => trade.map(|t| render::trade(market, &t, true, now_ms)),
                        Kind::Book => Some(render::book(market, &book, true, now_ms)),
                    };
                    frames.extend(frame);
                }
            }
        }
        Reply {
            frames,
            close: false,
        }
    }

    fn realtime(&self, event: &SimEvent, engine: &Engine, now_ms: i64) -> Option<String> {
        let market = event.market();
        match event {
            SimEvent::Trade(_, t) if self.subs.contains(&(Kind::Trade, market)) => {
                Some(render::trade(market, t, false, now_ms))
            }
            SimEvent::Ticker(_, t) if self.subs.contains(&(Kind::Ticker, market)) => {
                let book = engine
                    .snapshot(market)
                    .map(|(_, _, b)| b)
                    .unwrap_or_default();
                Some(render::ticker(market, t, &book, false))
            }
            SimEvent::Book(_, b) if self.subs.contains(&(Kind::Book, market)) => {
                Some(render::book(market, b, false, now_ms))
            }
            _ => None,
        }
    }
}
