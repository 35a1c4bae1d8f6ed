//! The Prometheus scrape endpoint: `GET /metrics` over plain HTTP/1.1.
//!
//! It is deliberately tiny (hyper directly, no web framework): one route, text exposition
//! format, and a shutdown future like the gRPC server's.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tickmesh_telemetry::Metrics;
use tokio::net::TcpListener;

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
        let metrics = metrics.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| respond(req, metrics.clone()));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "metrics connection ended with an error");
            }
        });
        // Reap finished connections so the set stays as small as the live connections.
        while connections.try_join_next().is_some() {}
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
