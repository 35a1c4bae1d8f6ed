//! A tower layer timing every gRPC call into [`RpcMetrics`] by method path and status code.
//!
//! The method label is the call's path only when it names a method the server hosts; any
//! other path is timed as `unknown`, so a client sending random paths cannot grow the metric
//! series without bound.
//!
//! The code comes from the response headers: tonic puts `grpc-status` there for calls that
//! fail before a message (trailers-only responses); a response without it has started
//! successfully, so it counts as `0` (OK). Streaming calls are timed to their first headers.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use prost::Message as _;

use tickmesh_telemetry::RpcMetrics;
use tower::{Layer, Service};

/// Wraps services with [`RpcTiming`].
#[derive(Debug, Clone)]
pub(crate) struct RpcTimingLayer {
    metrics: Option<RpcMetrics>,
    methods: Arc<BTreeSet<String>>,
}

impl RpcTimingLayer {
    /// Times calls into `metrics`, labelling them by path when the path is one of `methods`.
    pub(crate) fn new(metrics: Option<RpcMetrics>, methods: BTreeSet<String>) -> RpcTimingLayer {
        RpcTimingLayer {
            metrics,
            methods: Arc::new(methods),
        }
    }
}

/// The label of calls to a path the server does not host.
pub(crate) const UNKNOWN_METHOD: &str = "unknown";

/// The paths (`/package.Service/Method`) of every method of `services` that the encoded
/// descriptor `sets` describe. A set that does not decode adds nothing: its methods are then
/// timed as unknown, which loses a label, never a call.
pub(crate) fn method_paths(sets: &[&[u8]], services: &[&str]) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for set in sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(*set) else {
            continue;
        };
        for file in &set.file {
            for service in &file.service {
                let name = match file.package() {
                    "" => service.name().to_owned(),
                    package => format!("{package}.{}", service.name()),
                };
                if services.contains(&name.as_str()) {
                    paths.extend(
                        service
                            .method
                            .iter()
                            .map(|m| format!("/{name}/{}", m.name())),
                    );
                }
            }
        }
    }
    paths
}

impl<S> Layer<S> for RpcTimingLayer {
    type Service = RpcTiming<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTiming {
            inner,
            metrics: self.metrics.clone(),
            methods: Arc::clone(&self.methods),
        }
    }
}

/// Times calls to `inner`.
#[derive(Debug, Clone)]
pub(crate) struct RpcTiming<S> {
    inner: S,
    metrics: Option<RpcMetrics>,
    methods: Arc<BTreeSet<String>>,
}

type TimedFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, B, RB> Service<http::Request<B>> for RpcTiming<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    RB: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TimedFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let method = if self.methods.contains(path) {
            path.to_owned()
        } else {
            UNKNOWN_METHOD.to_owned()
        };
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            if let (Some(metrics), Ok(response)) = (&metrics, &result) {
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0");
                metrics.observe(&method, code, started.elapsed().as_secs_f64());
            }
            result
        })
    }
}
