//! Bearer-token gating over a real socket: the health `Check` stands in for a mutating method.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{CHECK, check, check_with_header, first_watch, plain_channel, settings, start};
use tickmesh_bootstrap::GrpcServer;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

const TOKEN: &str = "s3cret-token-0123456789";
const MISSING: &str = "this call needs a bearer token (authorization: Bearer …)";
const INVALID: &str = "the bearer token is not valid";

#[tokio::test]
async fn a_gated_method_needs_the_configured_bearer_token() {
    let server = start(
        GrpcServer::new().require_token_for(&[CHECK]),
        settings(Some(TOKEN)),
    )
    .await;
    let channel = plain_channel(server.addr).await;

    let missing = check(channel.clone(), None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated, "{missing:?}");
    assert_eq!(missing.message(), MISSING);

    let other_scheme = check_with_header(channel.clone(), &format!("Basic {TOKEN}"))
        .await
        .unwrap_err();
    assert_eq!(other_scheme.code(), Code::Unauthenticated);
    assert_eq!(other_scheme.message(), MISSING);

    for wrong in [
        "nope",
        "s3cret-token-0123456780",
        "s3cret-token-0123456789x",
    ] {
        let status = check(channel.clone(), Some(wrong)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{wrong}: {status:?}");
        assert_eq!(status.message(), INVALID, "{wrong}");
    }

    assert_eq!(
        check(channel.clone(), Some(TOKEN)).await.unwrap(),
        ServingStatus::Serving
    );
    // The scheme is case-insensitive, as HTTP authentication schemes are.
    assert_eq!(
        check_with_header(channel.clone(), &format!("bearer {TOKEN}"))
            .await
            .unwrap(),
        ServingStatus::Serving
    );

    // Methods that were not registered are never gated.
    assert_eq!(
        first_watch(channel.clone()).await.unwrap(),
        ServingStatus::Serving
    );

    // A rejection is an ordinary gRPC answer: the connection keeps serving.
    assert!(check(channel, None).await.is_err());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn without_a_configured_token_nothing_is_gated() {
    let server = start(
        GrpcServer::new().require_token_for(&[CHECK]),
        settings(None),
    )
    .await;
    let channel = plain_channel(server.addr).await;
    assert_eq!(
        check(channel.clone(), None).await.unwrap(),
        ServingStatus::Serving
    );
    assert_eq!(
        check(channel.clone(), Some("anything")).await.unwrap(),
        ServingStatus::Serving
    );
    assert_eq!(first_watch(channel).await.unwrap(), ServingStatus::Serving);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn with_a_token_but_no_gated_methods_nothing_is_gated() {
    let server = start(GrpcServer::new(), settings(Some(TOKEN))).await;
    let channel = plain_channel(server.addr).await;
    assert_eq!(check(channel, None).await.unwrap(), ServingStatus::Serving);
    server.stop().await.unwrap();
}

#[test]
fn the_client_refuses_tokens_a_header_cannot_carry() {
    let mut request = tonic::Request::new(());
    for bad in ["", "  ", "two words", "ключ"] {
        let err = tickmesh_bootstrap::bearer(&mut request, bad).unwrap_err();
        assert!(err.to_string().contains("visible ascii"), "{err}");
    }
    tickmesh_bootstrap::bearer(&mut request, " tok\n").unwrap();
    let value = request.metadata().get("authorization").unwrap();
    assert_eq!(value.to_str().unwrap(), "Bearer tok");
    assert!(value.is_sensitive());
}
