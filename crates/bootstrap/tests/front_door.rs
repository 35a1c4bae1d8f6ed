//! What any client can reach on the server without a token: calls to paths it does not host
//! share one metric label and are refused without growing anything, and reflection answers in
//! both protocol versions tools speak.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tickmesh_bootstrap::GrpcServer;
use tickmesh_telemetry::{Metrics, RpcMetrics};
use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

/// A unary call to `path` with an empty message.
async fn call(channel: tonic::transport::Channel, path: &str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::try_from(path).unwrap();
    grpc.unary::<(), (), _>(
        tonic::Request::new(()),
        path,
        tonic_prost::ProstCodec::default(),
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn calls_to_paths_not_hosted_are_timed_under_one_label() {
    let metrics = Metrics::new("0");
    let server = GrpcServer::new().with_rpc_metrics(RpcMetrics::register(&metrics));
    let running = common::start(server, common::settings(None)).await;
    let channel = common::plain_channel(running.addr).await;
    for i in 0..50 {
        let status = call(channel.clone(), &format!("/scan.Probe{i}/Method{i}")).await;
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    }
    common::check(channel, None).await.unwrap();

    let text = metrics.render();
    let methods: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("tickmesh_rpc_duration_seconds_count"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        methods,
        ["/grpc.health.v1.Health/Check", "unknown"].into(),
        "{text}"
    );
    assert!(
        text.contains("tickmesh_rpc_duration_seconds_count{code=\"12\",method=\"unknown\"} 50")
            || text
                .contains("tickmesh_rpc_duration_seconds_count{method=\"unknown\",code=\"12\"} 50"),
        "{text}"
    );
    running.stop().await.unwrap();
}

/// Lists the services over reflection v1alpha, with `token` as the bearer token when given.
async fn list_services(
    channel: tonic::transport::Channel,
    token: Option<&str>,
) -> Result<tonic::Streaming<tonic_reflection::pb::v1alpha::ServerReflectionResponse>, tonic::Status>
{
    let message = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut request = tonic::Request::new(tokio_stream::once(message));
    if let Some(token) = token {
        tickmesh_bootstrap::bearer(&mut request, token).unwrap();
    }
    Ok(ServerReflectionClient::new(channel)
        .server_reflection_info(request)
        .await?
        .into_inner())
}

#[tokio::test]
async fn with_the_token_for_reads_only_health_answers_without_it() {
    const TOKEN: &str = "reads-need-this-0123";
    let mut settings = common::settings(Some(TOKEN));
    settings.token_for_reads = true;
    let running = common::start(GrpcServer::new(), settings).await;
    let channel = common::plain_channel(running.addr).await;

    let refused = list_services(channel.clone(), None).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    let mut allowed = list_services(channel.clone(), Some(TOKEN)).await.unwrap();
    assert!(allowed.message().await.unwrap().is_some());
    // Probes carry no token.
    common::check(channel, None).await.unwrap();
    running.stop().await.unwrap();
}

#[tokio::test]
async fn reflection_answers_v1alpha_clients() {
    let running = common::start(GrpcServer::new(), common::settings(None)).await;
    let channel = common::plain_channel(running.addr).await;
    let mut responses = list_services(channel, None).await.unwrap();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list, got {response:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    running.stop().await.unwrap();
}

/// Reads from `socket` until the server closes it; false if it is still open after `limit`.
async fn closed_within(socket: &mut tokio::net::TcpStream, limit: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn connections_that_send_no_preface_in_time_are_closed() {
    use tokio::io::AsyncWriteExt as _;
    let mut settings = common::settings(None);
    settings.connections.preface_timeout = std::time::Duration::from_millis(300);
    let running = common::start(GrpcServer::new(), settings).await;
    let mut silent = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let mut trickling = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let trickle = async {
        for byte in b"PRI * HTTP/2.0\r\n" {
            if trickling.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    trickle.await;
    let limit = std::time::Duration::from_secs(10);
    assert!(
        closed_within(&mut silent, limit).await,
        "a silent connection stayed open"
    );
    assert!(
        closed_within(&mut trickling, limit).await,
        "a trickling connection stayed open"
    );
    // A client that speaks at once is served, also after the deadline would have passed.
    let channel = common::plain_channel(running.addr).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    common::check(channel, None).await.unwrap();
    running.stop().await.unwrap();
}
