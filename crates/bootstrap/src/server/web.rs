//! The page's files on the gRPC server's own listener: `GET` and `HEAD` requests that are not
//! gRPC are answered here, before tracing, call timing, the token gate and the call limits,
//! which are for calls. Everything else goes on to the services (gRPC-Web calls through
//! tonic-web's layer, which sits below this one).
//!
//! The files are the page's own and same-origin only: a content security policy that allows
//! nothing from elsewhere, no sniffing, no framing and no referrer. They are revalidated by
//! etag on every load, so an upgraded server never leaves a browser on old code.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::Full;
use tonic::body::Body;
use tower::{Layer, Service};

/// A file of the page, as served.
#[derive(Debug, Clone)]
pub struct WebAsset {
    /// Its bytes.
    pub body: Bytes,
    /// Its `content-type`.
    pub content_type: &'static str,
    /// A strong etag of the contents, quoted.
    pub etag: String,
}

/// Finds the file served at a URL path (`/` included), or `None`.
pub type WebAssets = Arc<dyn Fn(&str) -> Option<WebAsset> + Send + Sync>;

/// The policy every file is served with: the page loads only its own files and talks only to
/// this origin; `data:` images are the canvas charts' exports.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Serves the page's files in front of the gRPC services.
#[derive(Clone)]
pub(crate) struct PageLayer {
    assets: Option<WebAssets>,
}

impl PageLayer {
    /// Serves `assets`; with `None`, answers every page request `404 Not Found`.
    pub(crate) fn new(assets: Option<WebAssets>) -> Self {
        Self { assets }
    }
}

impl<S> Layer<S> for PageLayer {
    type Service = PageService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PageService {
            inner,
            assets: self.assets.clone(),
        }
    }
}

/// See [`PageLayer`].
#[derive(Clone)]
pub(crate) struct PageService<S> {
    inner: S,
    assets: Option<WebAssets>,
}

type ResponseFuture<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for PageService<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Send + 'static,
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
        if !is_page_request(&request) {
            return Box::pin(self.inner.call(request));
        }
        let response = match &self.assets {
            Some(assets) => respond(assets, &request),
            None => plain(
                StatusCode::NOT_FOUND,
                "this process serves gRPC-Web but no web page; the subscription service (or tickmesh up) serves it\n",
            ),
        };
        Box::pin(std::future::ready(Ok(response)))
    }
}

/// A browser asking for a file: `GET` or `HEAD`, and not gRPC (which is always `POST`).
fn is_page_request<B>(request: &http::Request<B>) -> bool {
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    !grpc && (request.method() == Method::GET || request.method() == Method::HEAD)
}

fn respond<B>(assets: &WebAssets, request: &http::Request<B>) -> http::Response<Body> {
    let Some(asset) = assets(request.uri().path()) else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == asset.etag.as_bytes());
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else if request.method() == Method::HEAD {
        (StatusCode::OK, Body::empty())
    } else {
        (StatusCode::OK, Body::new(Full::new(asset.body)))
    };
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(headers);
    response
}

fn plain(status: StatusCode, text: &'static str) -> http::Response<Body> {
    let mut response =
        http::Response::new(Body::new(Full::new(Bytes::from_static(text.as_bytes()))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    secure(headers);
    response
}

fn secure(headers: &mut http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}
