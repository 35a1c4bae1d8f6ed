//! Server-wide call limits: a method's calls in flight, all calls in flight and the bytes of a
//! request. A stream holds its slot until it ends, and a refused call names the limit.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tickmesh_bootstrap::{CallLimitSettings, GrpcServer};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;

fn limits(total: usize, per_method: usize, bytes: usize) -> CallLimitSettings {
    CallLimitSettings {
        max_in_flight: total,
        max_in_flight_per_method: per_method,
        max_request_bytes: bytes,
    }
}

/// A health `Watch` stream: open until dropped.
async fn watch(channel: tonic::transport::Channel) -> Result<impl Sized, tonic::Status> {
    let mut stream = HealthClient::new(channel)
        .watch(HealthCheckRequest::default())
        .await?
        .into_inner();
    // The first status arrives at once; reading it shows the stream is open.
    stream.message().await?;
    Ok(stream)
}

/// A reflection stream whose request side stays open (so its response does too) while the
/// returned sender lives.
async fn reflection(
    channel: tonic::transport::Channel,
) -> Result<(mpsc::Sender<ServerReflectionRequest>, impl Sized), tonic::Status> {
    let (tx, rx) = mpsc::channel(1);
    tx.send(ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    })
    .await
    .unwrap();
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(ReceiverStream::new(rx))
        .await?
        .into_inner();
    responses.message().await?;
    Ok((tx, responses))
}

#[tokio::test]
async fn a_method_holds_its_slots_while_its_streams_are_open() {
    let mut settings = common::settings(None);
    settings.calls = limits(100, 3, 4096);
    let running = common::start(GrpcServer::new(), settings).await;
    // Separate connections: the limit is the server's, not a connection's.
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            watch(common::plain_channel(running.addr).await)
                .await
                .unwrap(),
        );
    }
    let channel = common::plain_channel(running.addr).await;
    let refused = watch(channel.clone()).await.map(|_| ()).unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("server.max_calls_per_method"),
        "{refused:?}"
    );
    // Other methods are not affected.
    common::check(channel.clone(), None).await.unwrap();
    // A stream that ends gives its slot back.
    drop(open.pop());
    let mut again = Err(refused);
    for _ in 0..50 {
        again = watch(channel.clone()).await.map(|_| ());
        if again.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    again.unwrap();
    running.stop().await.unwrap();
}

#[tokio::test]
async fn the_server_wide_limit_spares_health_checks() {
    let mut settings = common::settings(None);
    settings.calls = limits(2, 100, 4096);
    let running = common::start(GrpcServer::new(), settings).await;
    let channel = common::plain_channel(running.addr).await;
    let held = [
        reflection(channel.clone()).await.unwrap(),
        reflection(channel.clone()).await.unwrap(),
    ];
    let refused = reflection(channel.clone()).await.map(|_| ()).unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("server.max_calls_in_flight"),
        "{refused:?}"
    );
    // Health checks and health streams still answer.
    common::check(channel.clone(), None).await.unwrap();
    watch(channel.clone()).await.unwrap();
    drop(held);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_over_the_byte_limit_is_refused_naming_it() {
    let mut settings = common::settings(None);
    settings.calls = limits(100, 100, 1024);
    let running = common::start(GrpcServer::new(), settings).await;
    let mut health = HealthClient::new(common::plain_channel(running.addr).await);
    let big = HealthCheckRequest {
        service: "x".repeat(2000),
    };
    let refused = health.check(big).await.unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused
            .message()
            .contains("server.max_request_bytes (1024 bytes)"),
        "{refused:?}"
    );
    // Just under the limit (5 bytes of gRPC framing, 3 of protobuf) reaches the service.
    let fits = HealthCheckRequest {
        service: "x".repeat(1016),
    };
    let answer = health.check(fits).await.unwrap_err();
    assert_eq!(answer.code(), tonic::Code::NotFound, "{answer:?}");
    running.stop().await.unwrap();
}
