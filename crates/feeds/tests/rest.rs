//! The REST client against real HTTP servers: requests paced within each exchange's published
//! limit however many callers share the client, and bodies read no further than the cap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::{RestClient, RestError, RestLimits, TradeHistory};
use tickmesh_simulator::{Simulator, SimulatorConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn btc() -> Market {
    Market::parse("BTC").unwrap()
}

async fn simulator(exchange: Exchange) -> Simulator {
    let mut config = SimulatorConfig::new(vec![btc()]);
    config.trades_per_second = 0.0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(exchange, config, listener).unwrap()
}

/// The exchanges' published REST limits per second and IP (Bithumb's is its limit on
/// connection requests, the tightest it has).
fn published_limit(exchange: Exchange) -> usize {
    match exchange {
        Exchange::Upbit | Exchange::Bithumb => 10,
        Exchange::Korbit => 50,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_stay_within_each_exchanges_published_limit() {
    for exchange in Exchange::ALL {
        let sim = simulator(exchange).await;
        sim.step();
        let client = RestClient::new(exchange, sim.rest_url()).unwrap();
        let limit = published_limit(exchange);
        // Three seconds' worth of requests at the published limit, all asked for at once by
        // clones of one client, as backfills of many markets would.
        let requests = 3 * limit;
        let calls: Vec<_> = (0..requests)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.trades(btc(), None, 10).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        let arrivals = sim.rest_requests();
        assert_eq!(arrivals.len(), requests);
        let mut most = 0;
        for (i, start) in arrivals.iter().enumerate() {
            let within = arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
                .count();
            most = most.max(within);
        }
        assert!(
            most <= limit,
            "{exchange}: {most} requests arrived within one second (limit {limit})"
        );
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused() {
    let sim = simulator(Exchange::Upbit).await;
    for _ in 0..50 {
        sim.step();
    }
    let limits = RestLimits {
        max_body_bytes: 1024,
        ..RestLimits::for_exchange(Exchange::Upbit)
    };
    let client = RestClient::with_limits(Exchange::Upbit, sim.rest_url(), limits).unwrap();
    let err = client.trades(btc(), None, 50).await.unwrap_err();
    assert!(
        matches!(err, RestError::TooLarge { limit: 1024, .. }),
        "{err}"
    );
    // A page that fits is read as before.
    let page = client.trades(btc(), None, 2).await.unwrap();
    assert_eq!(page.trades.len(), 2);
    sim.shutdown().await;
}

/// A server that answers with an endless chunked body, counting what it managed to send.
async fn endless_server() -> (String, tokio::task::JoinHandle<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await.unwrap();
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "[".repeat(64 * 1024));
        let mut sent = 0usize;
        // Until the client hangs up (or far past any cap, should it never).
        while sent < 64 * 1024 * 1024 && stream.write_all(chunk.as_bytes()).await.is_ok() {
            sent += 64 * 1024;
        }
        sent
    });
    (url, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_at_the_cap() {
    let (url, server) = endless_server().await;
    let client = RestClient::new(Exchange::Korbit, url).unwrap();
    let err = client.trades(btc(), None, 10).await.unwrap_err();
    assert!(
        matches!(err, RestError::TooLarge { limit, .. } if limit == 2 * 1024 * 1024),
        "{err}"
    );
    drop(client);
    let sent = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the client hung up")
        .unwrap();
    assert!(
        sent < 64 * 1024 * 1024,
        "the client stopped reading: the server could not send all of it ({sent} bytes)"
    );
}
