//! The gRPC server every tickmesh process runs: the services it hosts plus `grpc.health.v1` and
//! server reflection (v1 and v1alpha), behind a tower stack of request tracing, call timing,
//! the bearer-token gate and server-wide call limits (in flight per method and in all, request
//! bytes), with a per-request timeout and per-connection limits below it.
//!
//! Methods registered with [`GrpcServer::require_token_for`] need `authorization: Bearer <token>`
//! when `server.api_token` is set; calls without it get `UNAUTHENTICATED`, and everything else
//! (health and reflection included) is never gated. With `server.tls_cert` and `server.tls_key`
//! the server speaks TLS only.
//!
//! Shutdown is graceful and bounded: when the shutdown future completes, every hosted service
//! (and the overall `""` entry) turns `NOT_SERVING` so load balancers stop routing here, the
//! listener stops accepting, and in-flight calls get [`ServerSettings::shutdown_grace`] to
//! finish before the server gives up on them.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::Service;
use tower_http::trace::TraceLayer;

use self::trace::{grpc_span, log_failure};

mod preface;
mod settings;
mod trace;
mod web;

pub use settings::{CallLimitSettings, ConnectionSettings, ServerSettings, TlsFiles, WebSettings};
pub use web::{WebAsset, WebAssets};

use crate::auth::{BearerAuthLayer, Gate};

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The reflection service could not load a descriptor set.
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("the grpc server failed")]
    Transport(#[from] tonic::transport::Error),
    /// A TLS file could not be read.
    #[error("cannot read the tls {what} file {}", path.display())]
    TlsFile {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file, as configured.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS files were read but do not make a usable identity.
    #[error(
        "the tls certificate {} and key {} are not a usable pem certificate chain and its private key",
        cert.display(),
        key.display()
    )]
    TlsIdentity {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What TLS made of them.
        #[source]
        source: tonic::transport::Error,
    },
}

/// The services a process hosts, gathered before it serves.
pub struct GrpcServer {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    health: HealthReporter,
    gated: BTreeSet<&'static str>,
    rpc_metrics: Option<tickmesh_telemetry::RpcMetrics>,
    page: Option<WebAssets>,
    web_listener: Option<TcpListener>,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("services", &self.names)
            .field("token_required_for", &self.gated)
            .finish_non_exhaustive()
    }
}

impl Default for GrpcServer {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcServer {
    /// A server hosting health and reflection only.
    pub fn new() -> Self {
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        Self {
            routes,
            names: Vec::new(),
            descriptor_sets: vec![tonic_health::pb::FILE_DESCRIPTOR_SET],
            health,
            gated: BTreeSet::new(),
            rpc_metrics: None,
            page: None,
            web_listener: None,
        }
    }

    /// Times every call into `tickmesh_rpc_duration_seconds{method,code}`.
    pub fn with_rpc_metrics(mut self, metrics: tickmesh_telemetry::RpcMetrics) -> Self {
        self.rpc_metrics = Some(metrics);
        self
    }

    /// Serves the web page's files (with `web.enabled`): `GET /` and the files it loads, on
    /// the gRPC listener or on [`serve_web_on`](Self::serve_web_on)'s.
    pub fn with_page(mut self, assets: WebAssets) -> Self {
        self.page = Some(assets);
        self
    }

    /// [`with_page`](Self::with_page) in place.
    pub fn page(&mut self, assets: WebAssets) -> &mut Self {
        self.page = Some(assets);
        self
    }

    /// Serves gRPC-Web and the page on `listener` (bound for `web.listen`) instead of on the
    /// gRPC listener, which then speaks HTTP/2 gRPC only.
    pub fn serve_web_on(&mut self, listener: TcpListener) -> &mut Self {
        self.web_listener = Some(listener);
        self
    }

    /// Hosts `service`; `descriptor_set` (an encoded `FileDescriptorSet` holding it) lets
    /// reflection describe it.
    pub fn add_service<S>(mut self, service: S, descriptor_set: &'static [u8]) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.host(service, descriptor_set);
        self
    }

    /// [`add_service`](Self::add_service) in place, for a service's start function that adds
    /// its gRPC services to the process's server. Returns the service's full name, which its
    /// health reports under.
    pub fn host<S>(&mut self, service: S, descriptor_set: &'static [u8]) -> &'static str
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.names.push(S::NAME);
        if !self.descriptor_sets.contains(&descriptor_set) {
            self.descriptor_sets.push(descriptor_set);
        }
        S::NAME
    }

    /// Makes calls to `methods` (full gRPC paths such as
    /// `/tickmesh.subscription.v1.SubscriptionService/CreateSubscription`) need
    /// `authorization: Bearer <server.api_token>` when a token is configured. Calls without
    /// one, or with a wrong one, get `UNAUTHENTICATED` and never reach the service. Methods not
    /// registered here are never gated; with no token configured, nothing is.
    pub fn require_token_for(mut self, methods: &[&'static str]) -> Self {
        self.gate(methods);
        self
    }

    /// [`require_token_for`](Self::require_token_for) in place.
    pub fn gate(&mut self, methods: &[&'static str]) -> &mut Self {
        self.gated.extend(methods.iter().copied());
        self
    }

    /// The method paths registered with [`require_token_for`](Self::require_token_for).
    pub fn token_required_for(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.gated.iter().copied()
    }

    /// The health reporter, for services that want to report their own status.
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// The fully qualified names of the hosted services (health and reflection included).
    pub fn service_names(&self) -> Vec<&'static str> {
        let mut names = self.names.clone();
        names.push(<tonic_health::pb::health_server::HealthServer<()> as NamedService>::NAME);
        names.push(REFLECTION_V1);
        names.push(REFLECTION_V1ALPHA);
        names
    }

    /// Serves on `listener` until `shutdown` completes, then drains within the grace period.
    ///
    /// With [`ServerSettings::tls`] set, the certificate and key are read first; a file that
    /// cannot be read, or PEM that TLS cannot use, is an error naming the files.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        settings: &ServerSettings,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let connections = &settings.connections;
        let mut builder = tonic::transport::Server::builder()
            .timeout(settings.request_timeout)
            .concurrency_limit_per_connection(settings.concurrency_limit)
            .max_concurrent_streams(connections.max_concurrent_streams)
            .http2_keepalive_interval(connections.keepalive_interval)
            .http2_keepalive_timeout(Some(connections.keepalive_timeout))
            .tcp_keepalive(connections.tcp_keepalive);
        if let Some(age) = connections.max_connection_age {
            builder = builder
                .max_connection_age(age)
                .max_connection_age_grace(connections.max_connection_age_grace);
        }
        if let Some(files) = &settings.tls {
            let identity = read_identity(files).await?;
            let tls = ServerTlsConfig::new()
                .identity(identity)
                .timeout(connections.tls_handshake_timeout);
            builder = builder
                .tls_config(tls)
                .map_err(|source| ServerError::TlsIdentity {
                    cert: files.cert.clone(),
                    key: files.key.clone(),
                    source,
                })?;
        }
        self.check_gated_paths(settings);
        let mut gate = Gate::new(settings.api_token.clone(), std::mem::take(&mut self.gated));
        if settings.token_for_reads {
            gate = gate.everything();
        }
        let gate = BearerAuthLayer::new(gate);

        let reflected = self.service_names();
        let reflection = || {
            let mut builder = tonic_reflection::server::Builder::configure();
            for set in &self.descriptor_sets {
                builder = builder.register_encoded_file_descriptor_set(set);
            }
            for name in &reflected {
                builder = builder.with_service_name(*name);
            }
            builder
        };
        let (v1, v1alpha) = (reflection().build_v1()?, reflection().build_v1alpha()?);
        self.routes.add_service(v1);
        // Older tools (Python's grpcio-reflection, older grpcurl) speak only v1alpha.
        self.routes.add_service(v1alpha);

        for name in &self.names {
            self.health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        let names = self.names.clone();
        let health = self.health.clone();
        let stop = tokio_util::sync::CancellationToken::new();
        let stopping = stop.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: health NOT_SERVING, draining in-flight calls");
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
            for name in names {
                health
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
            stopping.cancel();
        };

        let mut sets = self.descriptor_sets.clone();
        sets.extend([
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ]);
        let methods = crate::rpc_timing::method_paths(&sets, &self.service_names());
        let web = &settings.web;
        let web_listener = match self.web_listener.take() {
            Some(listener) if web.enabled => Some(listener),
            Some(_) => {
                tracing::warn!("a web listener was bound but web.enabled is false; not serving it");
                None
            }
            None => None,
        };
        let page = self.page.take().filter(|_| web.enabled);
        let routes = self.routes.routes();
        let timing =
            crate::rpc_timing::RpcTimingLayer::new(self.rpc_metrics.clone(), methods.clone());
        // Shared by both listeners, so the limits are the server's, not each listener's.
        let limits = crate::call_limits::CallLimitLayer::new(settings.calls, methods);
        // One stack for both listeners; `web` adds HTTP/1.1, the page's files (outermost, so
        // tracing, the gate and the call limits see calls only) and tonic-web's translation.
        let stack = |web: bool| {
            // Tracing is outside the gate so that rejected calls are traced too.
            let trace = TraceLayer::new_for_grpc()
                .make_span_with(grpc_span)
                .on_failure(log_failure);
            builder
                .clone()
                .accept_http1(web)
                .layer(tower::util::option_layer(
                    web.then(|| web::PageLayer::new(page.clone())),
                ))
                .layer(tower::util::option_layer(
                    web.then(tonic_web::GrpcWebLayer::new),
                ))
                // The layers above want tonic's body; tracing wraps it in its own.
                .layer(tower::util::MapResponseLayer::new(
                    |response: http::Response<_>| response.map(Body::new),
                ))
                .layer(trace)
                .layer(timing.clone())
                .layer(gate.clone())
                .layer(limits.clone())
                .add_routes(routes.clone())
        };
        let web_on_grpc = web.enabled && web_listener.is_none();
        let grpc = stack(web_on_grpc).serve_with_incoming_shutdown(
            incoming(listener, connections.preface_timeout),
            stop.clone().cancelled_owned(),
        );
        let servers = async {
            match web_listener {
                Some(web_listener) => {
                    let web = stack(true).serve_with_incoming_shutdown(
                        incoming(web_listener, connections.preface_timeout),
                        stop.clone().cancelled_owned(),
                    );
                    tokio::try_join!(grpc, web).map(|_| ())
                }
                None => grpc.await,
            }
        };
        tokio::pin!(servers);
        tokio::select! {
            result = &mut servers => return result.map_err(ServerError::from),
            () = signal => {}
        }
        let grace = settings.shutdown_grace;
        match tokio::time::timeout(grace, servers).await {
            Ok(result) => result.map_err(ServerError::from),
            Err(_) => {
                tracing::warn!(grace = ?grace, "shutdown grace expired; abandoning calls still in flight");
                Ok(())
            }
        }
    }
}

impl GrpcServer {
    /// Logs gated paths that can never match a call, and gating that is off for want of a token.
    fn check_gated_paths(&self, settings: &ServerSettings) {
        if self.gated.is_empty() {
            return;
        }
        let services = self.service_names();
        for path in &self.gated {
            let service = path
                .strip_prefix('/')
                .and_then(|rest| rest.split_once('/'))
                .filter(|(service, method)| !service.is_empty() && !method.is_empty())
                .map(|(service, _)| service);
            match service {
                None => tracing::warn!(
                    method = path,
                    "a method that needs a bearer token is not of the form /package.Service/Method; no call matches it"
                ),
                Some(service) if !services.contains(&service) => tracing::warn!(
                    method = path,
                    "a method that needs a bearer token belongs to a service this server does not host"
                ),
                Some(_) => {}
            }
        }
        match (&settings.api_token, &settings.tls) {
            (None, _) => tracing::info!(
                methods = self.gated.len(),
                "server.api_token is not set: methods that would need a bearer token accept every call"
            ),
            (Some(_), None) => tracing::info!(
                methods = self.gated.len(),
                "bearer tokens are checked but travel in plain text; set server.tls_cert and server.tls_key to encrypt them"
            ),
            (Some(_), Some(_)) => {}
        }
    }
}

/// Reads the PEM certificate chain and key into a TLS identity.
async fn read_identity(files: &TlsFiles) -> Result<Identity, ServerError> {
    async fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ServerError> {
        tokio::fs::read(path)
            .await
            .map_err(|source| ServerError::TlsFile {
                what,
                path: path.to_owned(),
                source,
            })
    }
    let cert = read("certificate", &files.cert).await?;
    let key = read("key", &files.key).await?;
    Ok(Identity::from_pem(cert, key))
}

/// The name of the reflection v1 service.
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
/// The name of the reflection v1alpha service.
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// The accepted connections of `listener`, each with [`preface::PrefaceDeadline`] and with
/// Nagle's algorithm off: a server-streaming call writes each event as a small HTTP/2 frame,
/// which Nagle would hold back until the previous write is acknowledged, and the client's
/// delayed ACK can make that tens of milliseconds. (`tonic`'s own `serve` does this;
/// `serve_with_incoming` leaves it to us.)
fn incoming(
    listener: TcpListener,
    preface_timeout: Duration,
) -> impl tokio_stream::Stream<Item = std::io::Result<preface::PrefaceDeadline>> {
    use tokio_stream::StreamExt as _;
    TcpListenerStream::new(listener).map(move |accepted| {
        let stream = accepted?;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot turn Nagle's algorithm off");
        }
        Ok(preface::PrefaceDeadline::new(stream, preface_timeout))
    })
}
