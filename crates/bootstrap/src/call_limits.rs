//! A tower layer bounding what calls hold across every connection of the server: calls in
//! flight per method and in all, and the bytes of one request.
//!
//! A call holds its permits until its response body ends, so a server-streaming call counts
//! for as long as its stream is open; HTTP/2's own per-connection limit
//! (`server.max_concurrent_streams`) does not stop one client from opening many connections.
//! A call over a limit gets `RESOURCE_EXHAUSTED` at once, naming the limit, and never reaches
//! the service. Health checks do not count towards the server-wide limit, so a flood of other
//! calls cannot make an orchestrator think the process is dead.
//!
//! Requests are counted in bytes as they arrive; a request body longer than the limit fails
//! the call with `RESOURCE_EXHAUSTED` before the service sees a message.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::server::CallLimitSettings;

/// The health service's path prefix; its calls skip the server-wide limit.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// The semaphores every connection shares.
#[derive(Debug)]
struct Limits {
    settings: CallLimitSettings,
    total: Arc<Semaphore>,
    per_method: HashMap<String, Arc<Semaphore>>,
}

/// Wraps services with [`CallLimit`].
#[derive(Debug, Clone)]
pub(crate) struct CallLimitLayer {
    limits: Arc<Limits>,
}

impl CallLimitLayer {
    /// Limits within `settings`, with a per-method limit for each of `methods` (full paths);
    /// calls to any other path count only towards the server-wide limit.
    pub(crate) fn new(
        settings: CallLimitSettings,
        methods: impl IntoIterator<Item = String>,
    ) -> CallLimitLayer {
        let per_method = methods
            .into_iter()
            .map(|m| {
                (
                    m,
                    Arc::new(Semaphore::new(settings.max_in_flight_per_method)),
                )
            })
            .collect();
        CallLimitLayer {
            limits: Arc::new(Limits {
                total: Arc::new(Semaphore::new(settings.max_in_flight)),
                per_method,
                settings,
            }),
        }
    }
}

impl<S> Layer<S> for CallLimitLayer {
    type Service = CallLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallLimit {
            inner,
            limits: Arc::clone(&self.limits),
        }
    }
}

/// The permits one call holds; dropped with its response body.
#[derive(Debug, Default)]
struct Permits {
    _total: Option<OwnedSemaphorePermit>,
    _method: Option<OwnedSemaphorePermit>,
}

impl Limits {
    /// The call's permits, or the status that refuses it.
    fn admit(&self, path: &str) -> Result<Permits, Status> {
        let method = match self.per_method.get(path) {
            Some(semaphore) => Some(Arc::clone(semaphore).try_acquire_owned().map_err(|_| {
                Status::resource_exhausted(format!(
                    "{} calls to {path} are in flight, the most server.max_calls_per_method allows; retry later",
                    self.settings.max_in_flight_per_method
                ))
            })?),
            None => None,
        };
        let total = if path.starts_with(HEALTH_PREFIX) {
            None
        } else {
            Some(Arc::clone(&self.total).try_acquire_owned().map_err(|_| {
                Status::resource_exhausted(format!(
                    "{} calls are in flight on this server, the most server.max_calls_in_flight allows; retry later",
                    self.settings.max_in_flight
                ))
            })?)
        };
        Ok(Permits {
            _total: total,
            _method: method,
        })
    }
}

/// The service [`CallLimitLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct CallLimit<S> {
    inner: S,
    limits: Arc<Limits>,
}

impl<S> Service<http::Request<Body>> for CallLimit<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let permits = match self.limits.admit(request.uri().path()) {
            Ok(permits) => permits,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        let max_bytes = self.limits.settings.max_request_bytes;
        let request = request.map(|body| {
            Body::new(LimitedBody {
                inner: body,
                left: max_bytes,
                max_bytes,
            })
        });
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| {
                Body::new(HoldingBody {
                    inner: body,
                    _permits: permits,
                })
            }))
        })
    }
}

/// A request body that fails once more than `max_bytes` have arrived.
struct LimitedBody {
    inner: Body,
    left: usize,
    max_bytes: usize,
}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            match self.left.checked_sub(data.len()) {
                Some(left) => self.left = left,
                None => {
                    return Poll::Ready(Some(Err(Status::resource_exhausted(format!(
                        "the request is larger than server.max_request_bytes ({} bytes)",
                        self.max_bytes
                    )))));
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that holds its call's permits until it ends or is dropped.
struct HoldingBody {
    inner: Body,
    _permits: Permits,
}

impl http_body::Body for HoldingBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
