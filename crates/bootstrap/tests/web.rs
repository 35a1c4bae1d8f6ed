//! The browser side of the server: the page's files and gRPC-Web over HTTP/1.1 on the gRPC
//! listener (or on a listener of their own), native gRPC unchanged beside them, the token gate
//! applied to gRPC-Web calls but never to the page, and nothing of it with `web.enabled` off.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use prost::Message as _;
use tickmesh_bootstrap::server::{WebAsset, WebAssets};
use tickmesh_bootstrap::{GrpcServer, ServerSettings};
use tokio::net::TcpListener;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

fn assets() -> WebAssets {
    Arc::new(|path: &str| {
        let (body, content_type) = match path {
            "/" | "/index.html" => ("<!doctype html><p>board</p>", "text/html; charset=utf-8"),
            "/js/app.js" => ("export {};", "text/javascript; charset=utf-8"),
            _ => return None,
        };
        Some(WebAsset {
            body: Bytes::from_static(body.as_bytes()),
            content_type,
            etag: format!("\"{}\"", body.len()),
        })
    })
}

/// A gRPC-Web `Check` over HTTP/1.1: the HTTP status, the messages and the trailers.
async fn web_check(addr: std::net::SocketAddr, token: Option<&str>) -> (u16, Vec<u8>, String) {
    let message = HealthCheckRequest {
        service: String::new(),
    }
    .encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(&message);
    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let mut request = client
        .post(format!("http://{addr}{}", common::CHECK))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header_status = response
        .headers()
        .get("grpc-status")
        .map(|v| format!("grpc-status:{}", v.to_str().unwrap()));
    let bytes = response.bytes().await.unwrap();
    let (mut messages, mut trailers) = (Vec::new(), header_status.unwrap_or_default());
    let mut rest = &bytes[..];
    while rest.len() >= 5 {
        let len = usize::try_from(u32::from_be_bytes(rest[1..5].try_into().unwrap())).unwrap();
        let frame = &rest[5..5 + len];
        if rest[0] & 0x80 == 0 {
            messages.extend_from_slice(frame);
        } else {
            trailers.push_str(&String::from_utf8_lossy(frame));
        }
        rest = &rest[5 + len..];
    }
    (status, messages, trailers)
}

async fn get(url: &str, etag: Option<&str>) -> Result<reqwest::Response, reqwest::Error> {
    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let mut request = client.get(url);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    request.send().await
}

/// `addr` answers gRPC over HTTP/2 but no HTTP/1.1 request.
async fn assert_grpc_only(addr: std::net::SocketAddr) {
    assert!(get(&format!("http://{addr}/"), None).await.is_err());
    common::check(common::plain_channel(addr).await, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_grpc_listener_serves_the_page_and_grpc_web_beside_grpc() {
    let running = common::start(
        GrpcServer::new().with_page(assets()),
        common::settings(None),
    )
    .await;
    let base = format!("http://{}", running.addr);

    let page = get(&format!("{base}/"), None).await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(page.text().await.unwrap(), "<!doctype html><p>board</p>");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = get(&format!("{base}/"), Some(&etag)).await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.bytes().await.unwrap().len(), 0);
    let script = get(&format!("{base}/js/app.js"), None).await.unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        get(&format!("{base}/missing.js"), None)
            .await
            .unwrap()
            .status(),
        404
    );

    let (status, messages, trailers) = web_check(running.addr, None).await;
    assert_eq!(status, 200);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    let answer = HealthCheckResponse::decode(&messages[..]).unwrap();
    assert_eq!(common::status(answer.status), common::status(1), "SERVING");

    // Native gRPC over HTTP/2 is unchanged on the same listener.
    let channel = common::plain_channel(running.addr).await;
    common::check(channel, None).await.unwrap();
    running.stop().await.unwrap();
}

#[tokio::test]
async fn grpc_web_calls_pass_the_token_gate_but_the_page_never_does() {
    const TOKEN: &str = "web-token-31";
    let running = common::start(
        GrpcServer::new()
            .with_page(assets())
            .require_token_for(&[common::CHECK]),
        common::settings(Some(TOKEN)),
    )
    .await;
    let (_, _, refused) = web_check(running.addr, None).await;
    assert!(
        refused.contains("grpc-status:16"),
        "UNAUTHENTICATED: {refused}"
    );
    let (_, messages, allowed) = web_check(running.addr, Some(TOKEN)).await;
    assert!(allowed.contains("grpc-status:0"), "{allowed}");
    assert!(!messages.is_empty());
    let page = get(&format!("http://{}/", running.addr), None)
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the page loads to ask for the token");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn web_listen_moves_the_page_and_grpc_web_off_the_grpc_listener() {
    let web_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web_addr = web_listener.local_addr().unwrap();
    let mut server = GrpcServer::new().with_page(assets());
    server.serve_web_on(web_listener);
    let running = common::start(server, common::settings(None)).await;

    let page = get(&format!("http://{web_addr}/"), None).await.unwrap();
    assert_eq!(page.status(), 200);
    let (_, _, trailers) = web_check(web_addr, None).await;
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    // The gRPC listener speaks HTTP/2 only now.
    assert_grpc_only(running.addr).await;
    running.stop().await.unwrap();
}

#[tokio::test]
async fn with_web_disabled_there_is_no_page_and_no_http1() {
    let settings = ServerSettings {
        web: tickmesh_bootstrap::server::WebSettings {
            enabled: false,
            ..Default::default()
        },
        ..common::settings(None)
    };
    let running = common::start(GrpcServer::new().with_page(assets()), settings).await;
    assert_grpc_only(running.addr).await;
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_process_without_the_page_answers_browsers_not_found() {
    let running = common::start(GrpcServer::new(), common::settings(None)).await;
    let page = get(&format!("http://{}/", running.addr), None)
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("no web page"));
    let (_, _, trailers) = web_check(running.addr, None).await;
    assert!(
        trailers.contains("grpc-status:0"),
        "gRPC-Web still answers: {trailers}"
    );
    running.stop().await.unwrap();
}
