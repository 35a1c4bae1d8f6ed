//! The metrics endpoint against clients that connect and never finish a request: each is
//! closed after the header timeout, connections beyond the limit are closed at once, and a
//! scrape works again as soon as the stalled ones are gone.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tickmesh_bootstrap::metrics_http::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS};
use tickmesh_telemetry::Metrics;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Reads until the server closes the connection (or `limit` passes, which fails the test).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut received))
        .await
        .expect("the server kept the connection open")
        .unwrap_or_default();
    received
}

async fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    String::from_utf8_lossy(&closed_within(&mut stream, Duration::from_secs(10)).await).into_owned()
}

#[tokio::test]
async fn stalled_clients_are_cut_off_and_bounded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tickmesh_bootstrap::serve_metrics(
        listener,
        Metrics::new("0"),
        async {
            let _ = stopped.await;
        },
    ));
    assert!(scrape(addr).await.starts_with("HTTP/1.1 200 OK"));

    // Fill every slot with a client that sends half a request head and stalls.
    let mut stalled = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /metr").await.unwrap();
        stalled.push(stream);
    }
    // The server sees them in order; one more is closed at once, unanswered.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let answer = closed_within(&mut extra, Duration::from_secs(2)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));

    // Each stalled client is closed once the header timeout has passed.
    for stream in &mut stalled {
        closed_within(stream, HEADER_READ_TIMEOUT + Duration::from_secs(5)).await;
    }
    assert!(scrape(addr).await.starts_with("HTTP/1.1 200 OK"));

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
