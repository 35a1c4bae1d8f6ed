//! The REST endpoints the feeds use: market lists and recent trades, in each exchange's shape
//! (Upbit errors with HTTP 404, Bithumb with HTTP 200 and the same body, Korbit an envelope).

use http::StatusCode;
use serde_json::{Value, json};
use tickmesh_domain::{Exchange, Market, Side};

use crate::engine::{Engine, SimTrade};
use crate::render::fixed;

/// Answers `GET path?query`: the status and the JSON body.
pub(crate) fn respond(engine: &Engine, path: &str, query: &str) -> (StatusCode, String) {
    let exchange = engine.exchange();
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    };
    match (exchange, path) {
        (Exchange::Upbit | Exchange::Bithumb, "/v1/market/all") => {
            let rows: Vec<Value> = engine
                .markets()
                .into_iter()
                .map(|m| {
                    let code = m.to_exchange_symbol(exchange);
                    let name = m.base.as_str().to_owned();
                    if exchange == Exchange::Upbit {
                        json!({"market": code, "korean_name": name, "english_name": name,
                               "market_event": {"warning": false, "caution": {}}})
                    } else {
                        json!({"market": code, "korean_name": name, "english_name": name, "market_warning": "NONE"})
                    }
                })
                .collect();
            (StatusCode::OK, Value::Array(rows).to_string())
        }
        (Exchange::Upbit | Exchange::Bithumb, "/v1/trades/ticks") => {
            let market = param("market").and_then(|c| {
                Market::from_exchange_symbol(exchange, &c)
                    .ok()
                    .filter(|m| m.to_exchange_symbol(exchange) == c)
            });
            let count = param("count")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1usize)
                .clamp(1, 500);
            let cursor = param("cursor").and_then(|c| c.parse().ok());
            match market.and_then(|m| engine.recent_trades(m, count, cursor).map(|t| (m, t))) {
                Some((m, trades)) => {
                    let rows: Vec<String> =
                        trades.iter().map(|t| tick_row(exchange, m, t)).collect();
                    (StatusCode::OK, format!("[{}]", rows.join(",")))
                }
                None => quotation_error(
                    exchange,
                    StatusCode::NOT_FOUND,
                    json!(404),
                    "Code not found",
                ),
            }
        }
        (Exchange::Korbit, "/v2/currencyPairs") => {
            let rows: Vec<Value> = engine
                .markets()
                .into_iter()
                .map(|m| {
                    json!({"symbol": m.to_exchange_symbol(exchange), "status": "launched",
                           "baseCurrency": m.base.as_str().to_ascii_lowercase(),
                           "quoteCurrency": m.quote.as_str().to_ascii_lowercase()})
                })
                .collect();
            (
                StatusCode::OK,
                json!({"success": true, "data": rows}).to_string(),
            )
        }
        (Exchange::Korbit, "/v2/trades") => {
            let market = param("symbol").and_then(|s| {
                Market::from_exchange_symbol(exchange, &s)
                    .ok()
                    .filter(|m| m.to_exchange_symbol(exchange) == s)
            });
            let limit = param("limit")
                .and_then(|c| c.parse().ok())
                .unwrap_or(100usize)
                .clamp(1, 500);
            match market.and_then(|m| engine.recent_trades(m, limit, None)) {
                Some(trades) => {
                    let rows: Vec<Value> = trades
                        .iter()
                        .map(|t| {
                            json!({"timestamp": t.time_ms, "price": t.price.normalize().to_string(),
                                   "qty": t.size.normalize().to_string(),
                                   "isBuyerTaker": t.side == Side::Buy, "tradeId": t.id})
                        })
                        .collect();
                    (StatusCode::OK, json!({"success": true, "data": rows}).to_string())
                }
                None => (
                    StatusCode::BAD_REQUEST,
                    json!({"success": false, "error": {"code": 400, "message": "INVALID_CURRENCY_PAIR"}}).to_string(),
                ),
            }
        }
        (Exchange::Korbit, _) => (
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": {"code": 404, "message": "NOT_FOUND"}}).to_string(),
        ),
        _ => quotation_error(
            exchange,
            StatusCode::NOT_FOUND,
            json!("not_found"),
            "no Route matched with those values",
        ),
    }
}

fn quotation_error(
    exchange: Exchange,
    status: StatusCode,
    name: Value,
    message: &str,
) -> (StatusCode, String) {
    // Bithumb's /v1 answers its errors with HTTP 200.
    let status = if exchange == Exchange::Bithumb {
        StatusCode::OK
    } else {
        status
    };
    (
        status,
        json!({"error": {"name": name, "message": message}}).to_string(),
    )
}

/// A `/v1/trades/ticks` row, written by hand so that numbers keep their exact text (a
/// `serde_json::Value` would turn them into doubles).
fn tick_row(exchange: Exchange, market: Market, t: &SimTrade) -> String {
    format!(
        r#"{{"market":"{}","timestamp":{},"trade_price":{},"trade_volume":{},"ask_bid":"{}","sequential_id":{}}}"#,
        market.to_exchange_symbol(exchange),
        t.time_ms,
        fixed(t.price, 8),
        fixed(t.size, 8),
        if t.side == Side::Buy { "BID" } else { "ASK" },
        t.id,
    )
}
