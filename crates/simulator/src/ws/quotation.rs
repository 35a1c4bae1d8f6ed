//! Upbit and Bithumb request handling: one JSON array per request, replacing the whole set.

use std::collections::BTreeMap;

use serde_json::Value;
use tickmesh_domain::{Exchange, Market};

use super::{Dialect, Reply};
use crate::engine::{Engine, SimEvent};
use crate::render::quotation::{self as render, Keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Ticker,
    Trade,
    Book,
}

#[derive(Debug, Clone, Copy)]
struct Sub {
    depth: usize,
    realtime: bool,
}

/// The connection state of an Upbit or Bithumb socket.
pub(crate) struct Quotation {
    exchange: Exchange,
    keys: Keys,
    /// `*_LIST` formats wrap every frame in an array (Upbit).
    list: bool,
    subs: BTreeMap<(Kind, Market), Sub>,
}

impl Quotation {
    /// The markets subscribed, any kind.
    pub(crate) fn markets(&self) -> std::collections::BTreeSet<Market> {
        self.subs.keys().map(|(_, m)| *m).collect()
    }

    pub(crate) fn new(exchange: Exchange) -> Self {
        Self {
            exchange,
            keys: Keys::Default,
            list: false,
            subs: BTreeMap::new(),
        }
    }

    fn max_depth(&self) -> usize {
        if self.exchange == Exchange::Bithumb {
            15
        } else {
            30
        }
    }

    fn fatal(&self, name: &str, message: &str) -> Reply {
        Reply {
            frames: vec![render::error(name, message)],
            close: true,
        }
    }

    fn wrap(&self, frame: String) -> String {
        if self.list {
            format!("[{frame}]")
        } else {
            frame
        }
    }

    fn render(
        &self,
        kind: Kind,
        market: Market,
        engine: &Engine,
        event: Option<&SimEvent>,
        depth: usize,
        now_ms: i64,
    ) -> Option<String> {
        let snapshot = event.is_none();
        let frame = match (kind, event) {
            (Kind::Trade, Some(SimEvent::Trade(_, t))) => {
                render::trade(self.exchange, self.keys, market, t, false, now_ms)
            }
            (Kind::Ticker, Some(SimEvent::Ticker(_, t))) => {
                render::ticker(self.exchange, self.keys, market, t, false)
            }
            (Kind::Book, Some(SimEvent::Book(_, b))) => {
                render::book(self.exchange, self.keys, market, b, depth, false)
            }
            (_, Some(_)) => return None,
            (_, None) => {
                let (trade, ticker, book) = engine.snapshot(market)?;
                match kind {
                    Kind::Trade => {
                        render::trade(self.exchange, self.keys, market, &trade?, snapshot, now_ms)
                    }
                    Kind::Ticker => {
                        render::ticker(self.exchange, self.keys, market, &ticker, snapshot)
                    }
                    Kind::Book => {
                        render::book(self.exchange, self.keys, market, &book, depth, snapshot)
                    }
                }
            }
        };
        Some(self.wrap(frame))
    }
}

fn flag(object: &Value, snake: &str, camel: &str, exchange: Exchange) -> bool {
    // Upbit accepts both spellings; on Bithumb only camelCase works (snake_case is ignored).
    let camel_value = object.get(camel).and_then(Value::as_bool);
    let snake_value = if exchange == Exchange::Upbit {
        object.get(snake).and_then(Value::as_bool)
    } else {
        None
    };
    camel_value.or(snake_value).unwrap_or(false)
}

impl Dialect for Quotation {
    fn binary(&self) -> bool {
        true
    }

    fn answers_text_ping(&self) -> bool {
        true
    }

    fn server_pings(&self) -> bool {
        false
    }

    fn idle_cut(&self) -> bool {
        true
    }

    fn subscribed(&self) -> std::collections::BTreeSet<Market> {
        self.markets()
    }

    fn poison(&self, poison: crate::Poison, engine: &Engine, now_ms: i64) -> Option<String> {
        let market = self.markets().into_iter().next()?;
        let mid = super::mid_price(engine, market);
        let frame = crate::render::poison::quotation(
            self.exchange,
            self.keys,
            market,
            poison,
            mid,
            now_ms,
        )?;
        Some(self.wrap(frame))
    }

    fn request(&mut self, text: &str, engine: &Engine, now_ms: i64) -> Reply {
        let Ok(Value::Array(objects)) = serde_json::from_str::<Value>(text) else {
            return self.fatal("WRONG_FORMAT", "Format 이 맞지 않습니다.");
        };
        let mut ticket = false;
        let mut keys = self.keys;
        let mut list = self.list;
        let mut types = Vec::new();
        for object in &objects {
            if object.get("ticket").is_some() {
                ticket = true;
            } else if let Some(format) = object.get("format").and_then(Value::as_str) {
                match (format, self.exchange) {
                    ("DEFAULT", _) => (keys, list) = (Keys::Default, false),
                    ("SIMPLE", _) => (keys, list) = (Keys::Simple, false),
                    ("JSON_LIST", Exchange::Upbit) => (keys, list) = (Keys::Default, true),
                    ("SIMPLE_LIST", Exchange::Upbit) => (keys, list) = (Keys::Simple, true),
                    // Bithumb ignores a format it does not know and sends DEFAULT.
                    (_, Exchange::Bithumb) => (keys, list) = (Keys::Default, false),
                    _ => return self.fatal("WRONG_FORMAT", "Format 이 맞지 않습니다."),
                }
            } else if object.get("method").is_some() {
                // LIST_SUBSCRIPTIONS: answered below, after the ticket check.
            } else if object.get("type").is_some() {
                types.push(object);
            } else if self.exchange == Exchange::Bithumb {
                return self.fatal("WRONG_FORMAT", "Format 이 맞지 않습니다.");
            } else {
                return self.fatal("NO_TYPE", "type 필드가 존재하지 않습니다.");
            }
        }
        if !ticket {
            return self.fatal("NO_TICKET", "티켓이 존재하지 않거나, 유효하지 않습니다.");
        }
        if types.is_empty() {
            let listing = objects
                .iter()
                .any(|o| o.get("method").and_then(Value::as_str) == Some("LIST_SUBSCRIPTIONS"));
            if listing {
                return Reply {
                    frames: vec![self.listing()],
                    close: false,
                };
            }
            return self.fatal("NO_TYPE", "type 필드가 존재하지 않습니다.");
        }
        let mut subs = BTreeMap::new();
        for object in types {
            let type_name = object.get("type").and_then(Value::as_str).unwrap_or("");
            let kind = match type_name {
                "ticker" => Kind::Ticker,
                "trade" => Kind::Trade,
                "orderbook" => Kind::Book,
                other => {
                    return self.fatal(
                        "INVALID_PARAM",
                        &format!("{other} 은 지원하지 않는 타입입니다."),
                    );
                }
            };
            let Some(codes) = object.get("codes").and_then(Value::as_array) else {
                return match self.exchange {
                    Exchange::Upbit => self.fatal("NO_CODES", "codes 필드가 존재하지 않습니다."),
                    _ => self.fatal("INVALID_PARAM", "codes 필드가 비어 있습니다."),
                };
            };
            if codes.is_empty() {
                return self.fatal("INVALID_PARAM", "codes 필드가 비어 있습니다.");
            }
            if self.exchange == Exchange::Bithumb
                && let Some(level) = object.get("level").and_then(Value::as_u64)
                && ![1, 10, 100, 1000, 10000].contains(&level)
            {
                return self.fatal("WRONG_FORMAT", "Format 이 맞지 않습니다.");
            }
            let realtime = !flag(object, "is_only_snapshot", "isOnlySnapshot", self.exchange);
            let snapshot = !flag(object, "is_only_realtime", "isOnlyRealtime", self.exchange);
            for code in codes.iter().filter_map(Value::as_str) {
                let (symbol, depth) = match code.split_once('.') {
                    Some((s, n)) if kind == Kind::Book => {
                        let n: usize = n.parse().unwrap_or(self.max_depth());
                        let n = if self.exchange == Exchange::Upbit && ![1, 5, 15, 30].contains(&n)
                        {
                            30
                        } else {
                            n
                        };
                        (s, n.min(self.max_depth()))
                    }
                    _ => (code, self.max_depth()),
                };
                // Unknown and wrongly cased codes are silently ignored, as on the real servers.
                let Ok(market) = Market::from_exchange_symbol(self.exchange, symbol) else {
                    continue;
                };
                if market.to_exchange_symbol(self.exchange) != symbol || !engine.lists(market) {
                    continue;
                }
                subs.insert((kind, market), (Sub { depth, realtime }, snapshot));
            }
        }
        self.keys = keys;
        self.list = list;
        self.subs = subs.iter().map(|(k, (sub, _))| (*k, *sub)).collect();
        let mut frames = Vec::new();
        for ((kind, market), (sub, snapshot)) in subs {
            if snapshot
                && let Some(frame) = self.render(kind, market, engine, None, sub.depth, now_ms)
            {
                frames.push(frame);
            }
        }
        Reply {
            frames,
            close: false,
        }
    }

    fn realtime(&self, event: &SimEvent, engine: &Engine, now_ms: i64) -> Option<String> {
        let kind = match event {
            SimEvent::Trade(..) => Kind::Trade,
            SimEvent::Ticker(..) => Kind::Ticker,
            SimEvent::Book(..) => Kind::Book,
        };
        let sub = self.subs.get(&(kind, event.market()))?;
        if !sub.realtime {
            return None;
        }
        self.render(kind, event.market(), engine, Some(event), sub.depth, now_ms)
    }
}

impl Quotation {
    fn listing(&self) -> String {
        let mut by_type: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (kind, market) in self.subs.keys() {
            let name = match kind {
                Kind::Ticker => "ticker",
                Kind::Trade => "trade",
                Kind::Book => "orderbook",
            };
            by_type
                .entry(name)
                .or_default()
                .push(market.to_exchange_symbol(self.exchange));
        }
        let result: Vec<Value> = by_type
            .into_iter()
            .map(|(t, codes)| serde_json::json!({"type": t, "codes": codes}))
            .collect();
        serde_json::json!({"method": "LIST_SUBSCRIPTIONS", "result": result, "ticket": "tickmesh-simulator"}).to_string()
    }
}
