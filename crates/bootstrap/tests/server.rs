//! The gRPC server's shutdown contract, over a real socket.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tickmesh_bootstrap::{GrpcServer, ServerSettings};
use tokio::net::TcpListener;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response};

fn settings(grace: Duration) -> ServerSettings {
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        request_timeout: Duration::from_secs(5),
        concurrency_limit: 16,
        shutdown_grace: grace,
        ..ServerSettings::default()
    }
}

fn status(s: i32) -> ServingStatus {
    health_check_response::ServingStatus::try_from(s).unwrap()
}

#[tokio::test]
async fn shutdown_turns_health_not_serving_then_drains_within_the_grace() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        GrpcServer::new()
            .serve(listener, &settings(Duration::from_millis(300)), async {
                let _ = stop_rx.await;
            })
            .await
    });

    let mut client = HealthClient::new(channel(format!("http://{addr}")).await);
    let check = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(check.status), ServingStatus::Serving);

    // A Watch stream is an in-flight call that never ends by itself: it must see NOT_SERVING,
    // and it must not keep the server alive past the grace period.
    let mut watch = client
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(status(first.status), ServingStatus::Serving);

    stop_tx.send(()).unwrap();
    let next = watch.message().await.unwrap().unwrap();
    assert_eq!(status(next.status), ServingStatus::NotServing);

    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server outlived its grace period")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(
        TcpListener::bind(addr).await.is_ok(),
        "the listener is released after shutdown"
    );
}

async fn channel(url: String) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap()
}
