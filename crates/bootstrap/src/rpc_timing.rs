//! A tower layer timing every gRPC call into [`RpcMetrics`] by method path and status code.
//!
//! The code comes from the response headers: tonic puts `grpc-status` there for calls that
//! fail before a message (trailers-only responses); a response without it has started
//! successfully, so it counts as `0` (OK). Streaming calls are timed to their first headers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tickmesh_telemetry::RpcMetrics;
use tower::{Layer, Service};

/// Wraps services with [`RpcTiming`].
#[derive(Debug, Clone)]
pub(crate) struct RpcTimingLayer {
    metrics: Option<RpcMetrics>,
}

impl RpcTimingLayer {
    pub(crate) fn new(metrics: Option<RpcMetrics>) -> RpcTimingLayer {
        RpcTimingLayer { metrics }
    }
}

impl<S> Layer<S> for RpcTimingLayer {
    type Service = RpcTiming<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTiming {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// Times calls to `inner`.
#[derive(Debug, Clone)]
pub(crate) struct RpcTiming<S> {
    inner: S,
    metrics: Option<RpcMetrics>,
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
        let method = request.uri().path().to_owned();
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
