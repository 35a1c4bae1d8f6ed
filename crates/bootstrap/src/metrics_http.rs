//! The Prometheus scrape endpoint: `GET /metrics` over plain HTTP/1.1.
//!
//! It is deliberately tiny (hyper directly, no web framework): one route, text exposition
//! format, and a shutdown future like the gRPC server's.
//!
//! Whatever can reach the port can connect, so what a connection may hold is bounded: at most
//! [`MAX_CONNECTIONS`] at once (more are closed as they come), and a connection that has not
//! sent a whole request head within [`HEADER_READ_TIMEOUT`] is closed.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tickmesh_telemetry::Metrics;
use tokio::net::TcpListener;

/// Connections served at once. A scraper needs one; the rest is slack for several scrapers.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a connection may take to send a request head.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The content type of the OpenMetrics text format that `prometheus-client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `metrics` on `listener` until `shutdown` completes.
///
/// Scrapes are short, so connections still open at shutdown are simply dropped.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Accept errors (such as running out of file descriptors) are transient;
                    // back off briefly rather than spinning or dying.
                    tracing::warn!(error = %e, "metrics endpoint could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Reap finished connections so the set holds only the live ones.
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            tracing::debug!(%peer, "metrics endpoint at its connection limit; closing a new one");
            drop(stream);
            continue;
        }
        let metrics = metrics.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| respond(req, metrics.clone()));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "metrics connection ended with an error");
            }
        });
    }
    connections.abort_all();
    Ok(())
}

async fn respond(
    req: Request<Incoming>,
    metrics: Metrics,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => Response::builder()
            .header(header::CONTENT_TYPE, OPENMETRICS)
            .body(Full::new(Bytes::from(metrics.render()))),
        (_, "/metrics") => Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET")
            .body(Full::new(Bytes::from_static(b"use GET\n"))),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"metrics are at /metrics\n"))),
    };
    // The builder only fails on invalid header values, and ours are static and valid.
    Ok(response.unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}
