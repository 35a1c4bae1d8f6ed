//! A client behind a link that goes silent without closing (a half-open connection) finds out
//! from its keepalive pings: a long-lived watch fails instead of waiting forever.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tickmesh_bootstrap::{ClientKeepalive, GrpcServer, connect_channel_with};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Copies `from` to `to` until `silent` is set; from then on reads and drops everything, so
/// neither side sees the other, and neither sees the connection close.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silent: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !silent.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A one-connection proxy to `upstream`, and the switch that silences it.
async fn silenceable_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&silent);
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = TcpStream::connect(upstream).await.unwrap();
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        tokio::join!(
            pump(client_read, server_write, Arc::clone(&silent)),
            pump(server_read, client_write, silent),
        );
    });
    (addr, switch)
}

#[tokio::test]
async fn a_watch_over_a_silent_link_fails_once_pings_go_unanswered() {
    let running = common::start(GrpcServer::new(), common::settings(None)).await;
    let (proxy, silence) = silenceable_proxy(running.addr).await;
    let keepalive = ClientKeepalive {
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(300),
    };
    let channel = connect_channel_with(&format!("http://{proxy}"), None, keepalive)
        .await
        .unwrap();
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(watch.message().await.unwrap().is_some());

    silence.store(true, Ordering::SeqCst);
    // Without keepalive this waits forever: the health status never changes.
    let next = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("the watch still waits on a silent link");
    assert!(next.is_err(), "{next:?}");
    running.stop().await.unwrap();
}
