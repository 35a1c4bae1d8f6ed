//! `tickmesh up` as a user runs it: a real process, real sockets, a real SIGTERM.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_stream::StreamExt as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// The process and the addresses it logged once it was listening.
struct Running {
    child: Child,
    /// Holds the SQLite file of embedded mode.
    _data: tempfile::TempDir,
    grpc: SocketAddr,
    metrics: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only reached when an assertion failed first; do not leave the process behind.
        let _ = self.child.kill();
    }
}

fn start() -> Running {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(["up", "--listen", "127.0.0.1:0"])
        .env(
            "TICKMESH__DATABASE__URL",
            format!("sqlite://{}", data.path().join("tickmesh.db").display()),
        )
        .env("TICKMESH__METRICS__LISTEN", "127.0.0.1:0")
        .env("TICKMESH__LOG__FORMAT", "json")
        .env_remove("RUST_LOG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut grpc, mut metrics) = (None, None);
    for line in stderr.by_ref() {
        let line = line.unwrap();
        let event: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("log line is not json ({e}): {line}"));
        if let Some(a) = event["grpc_addr"].as_str() {
            grpc = Some(a.parse().unwrap());
        }
        if let Some(a) = event["metrics_addr"].as_str() {
            metrics = Some(a.parse().unwrap());
        }
        if grpc.is_some() && metrics.is_some() {
            break;
        }
    }
    // Keep draining the log so the process never blocks on a full pipe, and show it with
    // the test's output when something fails.
    std::thread::spawn(move || {
        for line in stderr.map_while(Result::ok) {
            eprintln!("tickmesh: {line}");
        }
    });
    Running {
        child,
        _data: data,
        grpc: grpc.expect("tickmesh never logged its grpc address"),
        metrics: metrics.expect("tickmesh never logged its metrics address"),
    }
}

async fn reflected_services(addr: SocketAddr) -> Vec<String> {
    let mut client = ServerReflectionClient::new(channel(format!("http://{addr}")).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[tokio::test]
async fn up_serves_health_reflection_and_metrics_then_exits_0_on_sigterm() {
    let mut running = start();

    let mut health = HealthClient::new(channel(format!("http://{}", running.grpc)).await);
    let reply = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status, ServingStatus::Serving as i32);

    assert_eq!(
        reflected_services(running.grpc).await,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "tickmesh.bridge.v1.BridgeService",
            "tickmesh.history.v1.HistoryService",
            "tickmesh.ingestion.v1.IngestionService",
            "tickmesh.stream.v1.TickStreamService",
            "tickmesh.subscription.v1.SubscriptionService",
        ]
    );

    let scrape = http_get(running.metrics, "/metrics");
    assert!(scrape.starts_with("HTTP/1.1 200 OK"), "{scrape}");
    assert!(scrape.contains("tickmesh_up 1"), "{scrape}");
    assert!(
        scrape.contains("tickmesh_build_info{version=\""),
        "{scrape}"
    );
    assert!(http_get(running.metrics, "/other").starts_with("HTTP/1.1 404"));

    let pid = running.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "tickmesh still running 5 s after SIGTERM"
        );
        // Sleep on the runtime, not the thread: the client connections live on this runtime
        // and must answer the server's HTTP/2 GOAWAY for the drain to finish.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
}

#[test]
fn every_bad_setting_is_reported_at_once_and_the_exit_code_is_1() {
    let output = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(["up", "--listen", "127.0.0.1:0"])
        .env("TICKMESH__SERVER__REQUEST_TIMEOUT", "soon")
        .env("TICKMESH__LOG__FORMAT", "xml")
        .env("TICKMESH__SERVER__LSITEN", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invalid configuration (3 problems)"),
        "{stderr}"
    );
    for key in [
        "`log.format`",
        "`server.request_timeout`",
        "`server.lsiten`",
    ] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
}

async fn channel(url: String) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap()
}
