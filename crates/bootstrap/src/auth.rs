//! Bearer-token gating of chosen gRPC methods, as a tower layer around the server's routes.
//!
//! A call to a gated method path must carry `authorization: Bearer <token>` matching the
//! configured token; otherwise it is answered at once with `UNAUTHENTICATED` as a proper gRPC
//! response (HTTP 200, `grpc-status: 16`) and never reaches the service. Methods that were not
//! registered pass untouched, and with no token configured nothing is gated.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderMap;
use tonic::body::Body;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

use crate::config::Secret;

/// The message of a gated call that carries no bearer token.
pub(crate) const MISSING_TOKEN: &str = "this call needs a bearer token (authorization: Bearer …)";
/// The message of a gated call whose bearer token does not match.
pub(crate) const INVALID_TOKEN: &str = "the bearer token is not valid";

/// The paths of the health service, never gated.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// Which method paths need which token.
#[derive(Debug)]
pub(crate) struct Gate {
    token: Option<Secret>,
    methods: BTreeSet<&'static str>,
    everything: bool,
}

/// Why a call was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    Missing,
    Invalid,
}

impl Rejection {
    fn message(self) -> &'static str {
        match self {
            Self::Missing => MISSING_TOKEN,
            Self::Invalid => INVALID_TOKEN,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Self::Missing => "no bearer token",
            Self::Invalid => "wrong bearer token",
        }
    }
}

impl Gate {
    /// Gates `methods` behind `token`; with no token nothing is gated.
    pub(crate) fn new(token: Option<Secret>, methods: BTreeSet<&'static str>) -> Self {
        Self {
            token,
            methods,
            everything: false,
        }
    }

    /// Gates every method but health's (which probes call without a token) behind the token.
    pub(crate) fn everything(mut self) -> Self {
        self.everything = true;
        self
    }

    fn check(&self, path: &str, headers: &HeaderMap) -> Result<(), Rejection> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let gated = if self.everything {
            !path.starts_with(HEALTH_PREFIX)
        } else {
            self.methods.contains(path)
        };
        if !gated {
            return Ok(());
        }
        let presented = bearer_token(headers).ok_or(Rejection::Missing)?;
        if constant_time_eq(presented, expected.expose().as_bytes()) {
            Ok(())
        } else {
            Err(Rejection::Invalid)
        }
    }
}

/// The token of an `authorization: Bearer <token>` header; the scheme is case-insensitive.
fn bearer_token(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .as_bytes()
        .trim_ascii();
    let split = value.iter().position(|b| *b == b' ')?;
    let (scheme, rest) = value.split_at(split);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Compares without stopping at the first difference, so the time taken does not tell an
/// attacker how much of a guess was right. Only the length can differ in timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Wraps the routes in [`BearerAuth`].
#[derive(Debug, Clone)]
pub(crate) struct BearerAuthLayer {
    gate: Arc<Gate>,
}

impl BearerAuthLayer {
    pub(crate) fn new(gate: Gate) -> Self {
        Self {
            gate: Arc::new(gate),
        }
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth {
            inner,
            gate: Arc::clone(&self.gate),
        }
    }
}

/// Answers gated calls without a valid bearer token with `UNAUTHENTICATED`.
#[derive(Debug, Clone)]
pub(crate) struct BearerAuth<S> {
    inner: S,
    gate: Arc<Gate>,
}

type ResponseFuture<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for BearerAuth<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // Take the service that was driven ready and leave a fresh clone in its place, as
        // tower advises; a rejected call simply drops the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        match self.gate.check(request.uri().path(), request.headers()) {
            Ok(()) => Box::pin(inner.call(request)),
            Err(rejection) => {
                let remote = remote_addr(request.extensions()).map(tracing::field::display);
                tracing::warn!(
                    method = request.uri().path(),
                    remote,
                    reason = rejection.reason(),
                    "rejected a call to a method that needs a bearer token"
                );
                let response = tonic::Status::unauthenticated(rejection.message()).into_http();
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

/// The caller's address, over plain TCP or TLS.
fn remote_addr(extensions: &http::Extensions) -> Option<std::net::SocketAddr> {
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn gate(token: Option<&str>) -> Gate {
        Gate::new(token.map(Secret::new), BTreeSet::from(["/a.B/Mutate"]))
    }

    #[tokio::test]
    async fn a_rejection_is_a_grpc_response_with_status_16_and_the_call_never_runs() {
        use tower::ServiceExt;

        let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&reached);
        let inner = tower::service_fn(move |_: http::Request<Body>| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(
                Body::empty(),
            )))
        });
        let service = BearerAuthLayer::new(gate(Some("s3cret"))).layer(inner);

        let request = http::Request::builder()
            .uri("http://localhost/a.B/Mutate")
            .body(Body::empty())
            .unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.headers()["grpc-status"], "16");
        assert_eq!(response.headers()["content-type"], "application/grpc");
        assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);

        let request = http::Request::builder()
            .uri("http://localhost/a.B/Mutate")
            .header("authorization", "Bearer s3cret")
            .body(Body::empty())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert!(response.headers().get("grpc-status").is_none());
        assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn constant_time_eq_needs_equal_length_and_bytes() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3crex"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret!"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(
            bearer_token(&headers(Some("Bearer abc"))),
            Some(&b"abc"[..])
        );
        assert_eq!(
            bearer_token(&headers(Some("bearer  abc "))),
            Some(&b"abc"[..])
        );
        assert_eq!(bearer_token(&headers(Some("Bearer"))), None);
        assert_eq!(bearer_token(&headers(Some("Bearer   "))), None);
        assert_eq!(bearer_token(&headers(Some("Basic abc"))), None);
        assert_eq!(bearer_token(&headers(None)), None);
    }

    #[test]
    fn only_registered_methods_are_gated_and_only_with_a_token() {
        let g = gate(Some("s3cret"));
        assert_eq!(
            g.check("/a.B/Mutate", &headers(None)),
            Err(Rejection::Missing)
        );
        assert_eq!(
            g.check("/a.B/Mutate", &headers(Some("Bearer nope"))),
            Err(Rejection::Invalid)
        );
        assert_eq!(
            g.check("/a.B/Mutate", &headers(Some("Bearer s3cret"))),
            Ok(())
        );
        assert_eq!(g.check("/a.B/Read", &headers(None)), Ok(()));
        assert_eq!(gate(None).check("/a.B/Mutate", &headers(None)), Ok(()));
    }
}
