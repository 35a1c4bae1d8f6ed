//! `tickmesh simulate` as a person runs it: the URLs it prints serve each exchange's REST market
//! list and a WebSocket that tickmesh's own feed subscribes to; SIGTERM stops it with exit 0.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::{
    FeedConfig, FeedOutput, MarketList, RestClient, TradeHistory, protocol_for, spawn_feed,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Simulating {
    child: Child,
    /// Exchange, WebSocket URL and REST base URL, as printed.
    urls: Vec<(Exchange, String, String)>,
}

impl Drop for Simulating {
    fn drop(&mut self) {
        // Only reached with the process alive when an assertion failed first.
        let _ = self.child.kill();
    }
}

fn start(args: &[&str]) -> Simulating {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .arg("simulate")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut urls = Vec::new();
    for line in lines.by_ref().take(4) {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["markets:", ..] = words[..] {
            assert!(line.contains("BTC/KRW, ETH/KRW"), "{line}");
            break;
        }
        let [name, "websocket", ws, "rest", rest] = words[..] else {
            panic!("unexpected line: {line}");
        };
        urls.push((
            name.parse::<Exchange>().unwrap(),
            ws.to_owned(),
            rest.to_owned(),
        ));
    }
    std::thread::spawn(move || lines.for_each(drop));
    Simulating { child, urls }
}

#[tokio::test]
async fn simulate_prints_urls_that_serve_all_three_exchanges_and_stops_on_sigterm() {
    let mut simulating = start(&[
        "--upbit-port=0",
        "--bithumb-port=0",
        "--korbit-port=0",
        "--markets=BTC,eth_krw",
        "--rate=200",
    ]);
    let exchanges: Vec<Exchange> = simulating.urls.iter().map(|u| u.0).collect();
    assert_eq!(exchanges, Exchange::ALL);

    let btc = Market::parse("BTC").unwrap();
    let eth = Market::parse("ETH").unwrap();
    for (exchange, ws, rest) in &simulating.urls {
        let client = Arc::new(RestClient::new(*exchange, rest.clone()).unwrap());
        let listed = MarketList::fetch(*exchange, client.as_ref()).await.unwrap();
        assert!(listed.contains(btc) && listed.contains(eth), "{exchange}");
        assert!(listed.check(&[Market::parse("XRP").unwrap()]).is_err());

        let (tx, mut rx) = mpsc::channel(1024);
        let stop = CancellationToken::new();
        let history: Arc<dyn TradeHistory> = client;
        let feed = spawn_feed(
            FeedConfig::new(*exchange, ws.clone()),
            protocol_for(*exchange),
            history,
            tx,
            stop.clone(),
        );
        feed.set_markets(BTreeSet::from([eth]));
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no event from the {exchange} simulator"))
            .unwrap();
        let FeedOutput::Event(event) = event else {
            panic!("expected an event, got {event:?}");
        };
        assert_eq!((event.exchange, event.market), (*exchange, eth));
        stop.cancel();
        feed.join().await;
    }

    let pid = simulating.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = simulating.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn simulate_refuses_a_market_it_cannot_read() {
    let output = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(["simulate", "--upbit-port=0", "--markets=BTC,???"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--markets: cannot read `???`"), "{stderr}");
}
