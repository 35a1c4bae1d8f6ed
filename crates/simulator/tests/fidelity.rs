//! The simulators behave as the real exchanges do (docs/exchanges.md), seen from a raw
//! WebSocket client; and every frame they send parses with tickmesh's own parsers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tickmesh_domain::{Exchange, Market, UtcMicros};
use tickmesh_exchanges::{Control, bithumb, korbit, upbit};
use tickmesh_simulator::{Simulator, SimulatorConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn markets() -> Vec<Market> {
    ["BTC", "ETH"]
        .iter()
        .map(|m| Market::parse(m).unwrap())
        .collect()
}

async fn sim(exchange: Exchange, tweak: impl FnOnce(&mut SimulatorConfig)) -> Simulator {
    let mut config = SimulatorConfig::new(markets());
    config.trades_per_second = 0.0;
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(exchange, config, listener).unwrap()
}

async fn connect(sim: &Simulator) -> Ws {
    connect_async(sim.ws_url()).await.unwrap().0
}

/// The next message other than pings and pongs, or `None` if nothing comes within `wait`.
/// The deadline is fixed up front so that a server pinging faster than `wait` cannot stretch it.
async fn next(ws: &mut Ws, wait: Duration) -> Option<Message> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(None) => return Some(Message::Close(None)),
            Ok(Some(Err(e))) => return Some(Message::Text(format!("transport error: {e}").into())),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(m))) => return Some(m),
        }
    }
}

fn text(message: &Message) -> String {
    match message {
        Message::Binary(b) => String::from_utf8(b.to_vec()).unwrap(),
        Message::Text(t) => t.to_string(),
        other => panic!("expected a data frame, got {other:?}"),
    }
}

async fn frames(ws: &mut Ws, wait: Duration) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(m) = next(ws, wait).await {
        let done = matches!(m, Message::Close(_));
        out.push(m);
        if done {
            break;
        }
    }
    out
}

type Parser = fn(
    &[u8],
    UtcMicros,
    bool,
    &mut Vec<tickmesh_domain::MarketEvent>,
) -> Result<Control, tickmesh_exchanges::FrameError>;

fn parser(exchange: Exchange) -> Parser {
    match exchange {
        Exchange::Upbit => upbit::parse_frame,
        Exchange::Bithumb => bithumb::parse_frame,
        Exchange::Korbit => korbit::parse_frame,
    }
}

async fn quotation_subscribe_snapshot_realtime_and_replace(exchange: Exchange, format: &str) {
    let sim = sim(exchange, |_| {}).await;
    sim.step();
    sim.step();
    let mut ws = connect(&sim).await;
    let request = format!(
        r#"[{{"ticket":"t1"}},{{"type":"trade","codes":["KRW-BTC","KRW-NOPE","krw-eth"]}},{{"type":"orderbook","codes":["KRW-BTC"]}},{{"format":"{format}"}}]"#
    );
    ws.send(Message::text(request)).await.unwrap();
    let snapshots = frames(&mut ws, Duration::from_millis(300)).await;
    assert_eq!(
        snapshots.len(),
        2,
        "one snapshot per valid code and type; unknown codes are silent: {snapshots:?}"
    );
    for m in &snapshots {
        assert!(matches!(m, Message::Binary(_)), "data frames are binary");
        let t = text(m);
        assert!(t.contains("SNAPSHOT"), "{t}");
        let mut events = Vec::new();
        assert_eq!(
            parser(exchange)(t.as_bytes(), UtcMicros(0), false, &mut events).unwrap(),
            Control::Data,
            "{t}"
        );
    }
    for _ in 0..6 {
        sim.step();
    }
    let realtime = frames(&mut ws, Duration::from_millis(300)).await;
    assert!(!realtime.is_empty());
    for m in &realtime {
        let t = text(m);
        assert!(t.contains("REALTIME") && t.contains("KRW-BTC"), "{t}");
        let mut events = Vec::new();
        parser(exchange)(t.as_bytes(), UtcMicros(0), false, &mut events).unwrap();
    }
    if exchange == Exchange::Upbit && format == "DEFAULT" {
        let book = realtime
            .iter()
            .map(text)
            .find(|t| t.contains("orderbook"))
            .unwrap();
        assert!(
            book.contains("E8"),
            "Upbit DEFAULT book prices in scientific form: {book}"
        );
    }
    if exchange == Exchange::Bithumb {
        let book = snapshots
            .iter()
            .map(text)
            .find(|t| t.contains("orderbook"))
            .unwrap();
        let ts: serde_json::Value = serde_json::from_str(&book).unwrap();
        let key = if format == "SIMPLE" {
            "tms"
        } else {
            "timestamp"
        };
        assert_eq!(
            ts[key].as_i64().unwrap().to_string().len(),
            16,
            "Bithumb book times are microseconds"
        );
    }

    // A second request replaces the whole set.
    ws.send(Message::text(
        r#"[{"ticket":"t2"},{"type":"trade","codes":["KRW-ETH"]}]"#,
    ))
    .await
    .unwrap();
    frames(&mut ws, Duration::from_millis(300)).await;
    for _ in 0..6 {
        sim.step();
    }
    let after = frames(&mut ws, Duration::from_millis(300)).await;
    assert!(!after.is_empty());
    assert!(
        after
            .iter()
            .map(text)
            .all(|t| t.contains("KRW-ETH") && t.contains("trade")),
        "{after:?}"
    );
    sim.shutdown().await;
}

async fn quotation_errors_close_with_1000(exchange: Exchange) {
    let sim = sim(exchange, |_| {}).await;
    let missing_type = if exchange == Exchange::Upbit {
        "NO_TYPE"
    } else {
        "WRONG_FORMAT"
    };
    for (request, name) in [
        (r#"[{"type":"trade","codes":["KRW-BTC"]}]"#, "NO_TICKET"),
        (r#"{"ticket":"x"}"#, "WRONG_FORMAT"),
        ("hello", "WRONG_FORMAT"),
        (r#"[{"ticket":"x"},{"codes":["KRW-BTC"]}]"#, missing_type),
        (
            r#"[{"ticket":"x"},{"type":"nope","codes":["KRW-BTC"]}]"#,
            "INVALID_PARAM",
        ),
    ] {
        let mut ws = connect(&sim).await;
        ws.send(Message::text(request)).await.unwrap();
        let got = frames(&mut ws, Duration::from_secs(2)).await;
        let error = text(&got[0]);
        assert!(error.contains(name), "{request} -> {error}");
        match got.last() {
            Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
            other => panic!("{request}: expected a close 1000 after the error, got {other:?}"),
        }
    }
    sim.shutdown().await;
}

async fn quotation_ping_up_cycle_and_idle_cut(exchange: Exchange) {
    let sim = sim(exchange, |c| {
        c.up_interval = Duration::from_millis(200);
        c.idle_cut = Duration::from_millis(600);
    })
    .await;
    let mut ws = connect(&sim).await;
    ws.send(Message::text("PING")).await.unwrap();
    for _ in 0..4 {
        let up = next(&mut ws, Duration::from_secs(2)).await.unwrap();
        assert!(matches!(up, Message::Binary(_)));
        assert_eq!(text(&up), r#"{"status":"UP"}"#);
    }

    // Without any traffic the socket is cut, and no close frame is sent.
    let mut silent = connect(&sim).await;
    let end = tokio::time::timeout(Duration::from_secs(5), silent.next())
        .await
        .unwrap();
    match end {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("expected the connection to drop without a close frame, got {m:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn upbit_default() {
    quotation_subscribe_snapshot_realtime_and_replace(Exchange::Upbit, "DEFAULT").await;
}

#[tokio::test]
async fn upbit_simple() {
    quotation_subscribe_snapshot_realtime_and_replace(Exchange::Upbit, "SIMPLE").await;
}

#[tokio::test]
async fn bithumb_default() {
    quotation_subscribe_snapshot_realtime_and_replace(Exchange::Bithumb, "DEFAULT").await;
}

#[tokio::test]
async fn bithumb_simple() {
    quotation_subscribe_snapshot_realtime_and_replace(Exchange::Bithumb, "SIMPLE").await;
}

#[tokio::test]
async fn upbit_errors() {
    quotation_errors_close_with_1000(Exchange::Upbit).await;
}

#[tokio::test]
async fn bithumb_errors() {
    quotation_errors_close_with_1000(Exchange::Bithumb).await;
}

#[tokio::test]
async fn upbit_keepalive_and_idle_cut() {
    quotation_ping_up_cycle_and_idle_cut(Exchange::Upbit).await;
}

#[tokio::test]
async fn bithumb_keepalive_and_idle_cut() {
    quotation_ping_up_cycle_and_idle_cut(Exchange::Bithumb).await;
}

#[tokio::test]
async fn korbit_acks_errors_additive_subscriptions_and_server_pings() {
    let sim = sim(Exchange::Korbit, |c| {
        c.server_ping_interval = Duration::from_millis(200)
    })
    .await;
    sim.step();
    sim.step();
    let mut ws = connect(&sim).await;

    ws.send(Message::text(
        r#"[{"requestId":1,"method":"subscribe","type":"trade","symbols":["btc_krw"]}]"#,
    ))
    .await
    .unwrap();
    let got = frames(&mut ws, Duration::from_millis(300)).await;
    assert!(
        got.iter().all(|m| matches!(m, Message::Text(_))),
        "korbit frames are text"
    );
    assert_eq!(text(&got[0]), r#"{"status":"success","requestId":1}"#);
    assert!(text(&got[1]).contains(r#""snapshot":true"#));

    // Without a request id there is no ack; subscriptions add up.
    ws.send(Message::text(
        r#"[{"method":"subscribe","type":"trade","symbols":["eth_krw"]}]"#,
    ))
    .await
    .unwrap();
    let got = frames(&mut ws, Duration::from_millis(300)).await;
    assert_eq!(got.len(), 1, "only the ETH snapshot: {got:?}");
    for _ in 0..4 {
        sim.step();
    }
    let live: Vec<String> = frames(&mut ws, Duration::from_millis(300))
        .await
        .iter()
        .map(text)
        .collect();
    assert!(
        live.iter().any(|t| t.contains("btc_krw")) && live.iter().any(|t| t.contains("eth_krw"))
    );
    assert!(
        live.iter().all(|t| !t.contains("snapshot")),
        "realtime frames omit the snapshot key"
    );
    for t in &live {
        let mut events = Vec::new();
        korbit::parse_frame(t.as_bytes(), UtcMicros(0), false, &mut events).unwrap();
    }

    // Errors keep the socket open.
    for (request, reply) in [
        (
            r#"[{"requestId":2,"method":"subscribe","type":"trade","symbols":["nope_krw"]}]"#,
            r#""code":"INVALID_SYMBOL""#,
        ),
        (
            r#"[{"requestId":3,"method":"subscribe","type":"trade","symbols":["BTC_KRW"]}]"#,
            r#""code":"INVALID_SYMBOL""#,
        ),
        (
            r#"[{"requestId":4,"method":"subscribe","type":"nope","symbols":["btc_krw"]}]"#,
            "unknown_type",
        ),
        (r#"{"method":"subscribe"}"#, "invalid_format"),
    ] {
        ws.send(Message::text(request)).await.unwrap();
        let got = text(&next(&mut ws, Duration::from_secs(2)).await.unwrap());
        assert!(
            got.contains(reply) && got.contains(r#""status":"fail""#),
            "{request} -> {got}"
        );
    }

    // Unsubscribe stops BTC.
    ws.send(Message::text(
        r#"[{"requestId":5,"method":"unsubscribe","type":"trade","symbols":["btc_krw"]}]"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        text(&next(&mut ws, Duration::from_secs(2)).await.unwrap()),
        r#"{"status":"success","requestId":5}"#
    );
    for _ in 0..4 {
        sim.step();
    }
    let live: Vec<String> = frames(&mut ws, Duration::from_millis(300))
        .await
        .iter()
        .map(text)
        .collect();
    assert!(
        !live.is_empty() && live.iter().all(|t| t.contains("eth_krw")),
        "{live:?}"
    );

    // The server pings with payload `ping`.
    let ping = loop {
        match tokio::time::timeout(Duration::from_secs(2), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Message::Ping(p) => break p,
            _ => continue,
        }
    };
    assert_eq!(&ping[..], b"ping");
    sim.shutdown().await;
}

#[tokio::test]
async fn rest_market_lists_and_trades_parse_with_the_clients_parsers() {
    for exchange in Exchange::ALL {
        let sim = sim(exchange, |_| {}).await;
        for _ in 0..6 {
            sim.step();
        }
        let base = sim.rest_url();
        let (markets_path, trades_path) = match exchange {
            Exchange::Upbit => (
                upbit::rest::MARKETS_PATH.to_owned(),
                upbit::rest::trades_path(markets()[0], 10, None),
            ),
            Exchange::Bithumb => (
                bithumb::rest::MARKETS_PATH.to_owned(),
                bithumb::rest::trades_path(markets()[0], 10, None),
            ),
            Exchange::Korbit => (
                korbit::rest::MARKETS_PATH.to_owned(),
                korbit::rest::trades_path(markets()[0], 10),
            ),
        };
        let list = http_get(&base, &markets_path).await;
        let trades = http_get(&base, &trades_path).await;
        let (listed, parsed) = match exchange {
            Exchange::Upbit => (
                upbit::rest::parse_markets(&list).unwrap().0,
                upbit::rest::parse_trades(markets()[0], &trades).unwrap(),
            ),
            Exchange::Bithumb => (
                bithumb::rest::parse_markets(&list).unwrap().0,
                bithumb::rest::parse_trades(markets()[0], &trades).unwrap(),
            ),
            Exchange::Korbit => (
                korbit::rest::parse_markets(&list).unwrap().0,
                korbit::rest::parse_trades(&trades).unwrap(),
            ),
        };
        assert_eq!(listed, markets());
        let ids: Vec<u64> = parsed.iter().map(|(_, t)| t.trade_id.0).collect();
        let mut emitted = sim.emitted_trades(markets()[0]);
        emitted.reverse();
        assert_eq!(ids, emitted, "{exchange}: newest first, every id");
        sim.shutdown().await;
    }
}

/// A minimal HTTP/1.1 GET over a raw socket: the simulator's REST needs nothing more.
async fn http_get(base: &str, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 2 + size + 2..];
    }
}
