//! A warped exchange clock reaches everything a simulator emits: WebSocket trades, tickers and
//! books (snapshots and realtime) and the REST trade history, on all three exchanges.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tickmesh_domain::{Exchange, Market, MarketEvent, UtcMicros};
use tickmesh_exchanges::{bithumb, korbit, upbit};
use tickmesh_simulator::{ExchangeClock, Simulator, SimulatorConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const HOUR_US: i64 = 3_600_000_000;

fn btc() -> Market {
    Market::parse("BTC").unwrap()
}

/// Every data frame that arrives within `wait` of the previous one, parsed.
async fn events(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    exchange: Exchange,
    wait: Duration,
) -> Vec<MarketEvent> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout(wait, ws.next()).await {
        let bytes = match message {
            Message::Binary(b) => b.to_vec(),
            Message::Text(t) => t.as_bytes().to_vec(),
            _ => continue,
        };
        let parse = match exchange {
            Exchange::Upbit => upbit::parse_frame,
            Exchange::Bithumb => bithumb::parse_frame,
            Exchange::Korbit => korbit::parse_frame,
        };
        // Acknowledgements parse to no event.
        parse(&bytes, UtcMicros(0), false, &mut out).unwrap();
    }
    out
}

/// A minimal HTTP/1.1 GET: the body of a 200 answer.
async fn http_get(base: &str, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(response.starts_with(b"HTTP/1.1 200"));
    response[split + 4..].to_vec()
}

#[tokio::test]
async fn every_emitted_time_reads_the_warped_clock() {
    for exchange in Exchange::ALL {
        // Floored to the millisecond: exchanges' times are whole milliseconds, floored, so a
        // clock read in the same millisecond as this one would otherwise fall just below it.
        let started = UtcMicros::now().as_micros() / 1000 * 1000;
        let mut config = SimulatorConfig::new(vec![btc()]);
        config.trades_per_second = 0.0;
        // At twice real speed the clock stays about an hour behind for the whole test.
        config.clock = ExchangeClock::warped(Duration::from_secs(3600), 2);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(exchange, config, listener).unwrap();
        // An hour back, and not yet caught up: the bounds every emitted time must fall in.
        let in_warp = |micros: i64, what: &str| {
            let behind = UtcMicros::now().as_micros() - micros;
            assert!(
                micros >= started - HOUR_US,
                "{exchange} {what}: {micros} too early"
            );
            assert!(
                behind > HOUR_US - 600_000_000,
                "{exchange} {what}: only {behind} µs back"
            );
        };
        in_warp(sim.now_ms() * 1000, "clock");
        for _ in 0..3 {
            sim.step();
        }
        let mut ws = connect_async(sim.ws_url()).await.unwrap().0;
        let request = match exchange {
            Exchange::Korbit => ["trade", "ticker", "orderbook"]
                .map(|t| format!(r#"{{"method":"subscribe","type":"{t}","symbols":["btc_krw"]}}"#))
                .join(","),
            _ => {
                let kinds = ["trade", "ticker", "orderbook"]
                    .map(|t| format!(r#"{{"type":"{t}","codes":["KRW-BTC"]}}"#))
                    .join(",");
                format!(r#"{{"ticket":"warp"}},{kinds}"#)
            }
        };
        ws.send(Message::text(format!("[{request}]")))
            .await
            .unwrap();
        let mut seen = events(&mut ws, exchange, Duration::from_millis(300)).await;
        for _ in 0..6 {
            sim.step();
        }
        seen.extend(events(&mut ws, exchange, Duration::from_millis(300)).await);
        let kinds: std::collections::BTreeSet<_> = seen.iter().map(|e| e.kind()).collect();
        assert_eq!(
            kinds.len(),
            3,
            "{exchange}: trades, tickers and books: {kinds:?}"
        );
        for event in &seen {
            in_warp(event.exchange_time.as_micros(), "websocket event");
        }

        let trades = match exchange {
            Exchange::Upbit => upbit::rest::parse_trades(
                btc(),
                &http_get(&sim.rest_url(), &upbit::rest::trades_path(btc(), 10, None)).await,
            ),
            Exchange::Bithumb => bithumb::rest::parse_trades(
                btc(),
                &http_get(
                    &sim.rest_url(),
                    &bithumb::rest::trades_path(btc(), 10, None),
                )
                .await,
            ),
            Exchange::Korbit => korbit::rest::parse_trades(
                &http_get(&sim.rest_url(), &korbit::rest::trades_path(btc(), 10)).await,
            ),
        }
        .unwrap();
        assert_eq!(trades.len(), 9, "{exchange}: every trade in the history");
        for (time, _) in &trades {
            in_warp(time.as_micros(), "rest trade");
        }
        sim.shutdown().await;
    }
}
