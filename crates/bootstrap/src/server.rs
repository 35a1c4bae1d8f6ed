//! The gRPC server every tickmesh process runs: the services it hosts plus `grpc.health.v1` and
//! server reflection (v1), behind a tower stack of request tracing, a per-request timeout and a
//! per-connection concurrency limit.
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
use std::net::SocketAddr;
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

use crate::auth::{BearerAuthLayer, Gate};
use crate::config::{ConfigReader, Secret, parse_optional};

/// Server tuning, read from the `server` configuration section.
///
/// `Debug` never shows the api token (it prints `***`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Where the gRPC server listens (`server.listen`).
    pub listen: SocketAddr,
    /// Deadline for a unary call or a stream's first response (`server.request_timeout`).
    pub request_timeout: Duration,
    /// Requests served at once per connection; more wait (`server.concurrency_limit`).
    pub concurrency_limit: usize,
    /// How long in-flight calls may drain after shutdown starts (`server.shutdown_grace`).
    pub shutdown_grace: Duration,
    /// The bearer token that methods registered with [`GrpcServer::require_token_for`] need
    /// (`server.api_token`); `None` (unset or `off`) gates nothing.
    pub api_token: Option<Secret>,
    /// The certificate and key to serve TLS with (`server.tls_cert` and `server.tls_key`, both
    /// or neither); `None` serves plain-text HTTP/2.
    pub tls: Option<TlsFiles>,
}

/// The PEM files the server's TLS identity is read from when it starts serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (`server.tls_cert`).
    pub cert: PathBuf,
    /// The private key of the leaf certificate (`server.tls_key`).
    pub key: PathBuf,
}

impl Default for ServerSettings {
    /// The settings of an empty configuration.
    fn default() -> Self {
        Self {
            listen: Self::DEFAULT_LISTEN,
            request_timeout: Duration::from_secs(30),
            concurrency_limit: 1024,
            // Short enough that a client which never answers the HTTP/2 GOAWAY cannot hold
            // the exit past 5 s; streams end by themselves when their service shuts down.
            shutdown_grace: Duration::from_secs(4),
            api_token: None,
            tls: None,
        }
    }
}

impl ServerSettings {
    /// The default gRPC address of `tickmesh up`.
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50051);

    /// Reads the `server` section.
    pub fn read(r: &mut ConfigReader<'_>) -> Self {
        let defaults = Self::default();
        let mut settings = Self {
            listen: r.get("server.listen", defaults.listen),
            request_timeout: r.duration("server.request_timeout", defaults.request_timeout),
            concurrency_limit: r.get("server.concurrency_limit", defaults.concurrency_limit),
            shutdown_grace: r.duration("server.shutdown_grace", defaults.shutdown_grace),
            api_token: read_api_token(r),
            tls: None,
        };
        let cert = r.get_with("server.tls_cert", None, parse_pem_path);
        let key = r.get_with("server.tls_key", None, parse_pem_path);
        settings.tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                r.invalid(
                    "server.tls_cert",
                    "is set but `server.tls_key` is not; set both (the pem certificate chain \
                     and its private key) to serve tls, or neither to serve plain text",
                );
                None
            }
            (None, Some(_)) => {
                r.invalid(
                    "server.tls_key",
                    "is set but `server.tls_cert` is not; set both (the pem certificate chain \
                     and its private key) to serve tls, or neither to serve plain text",
                );
                None
            }
        };
        if settings.concurrency_limit == 0 {
            r.invalid("server.concurrency_limit", "must be at least 1");
        }
        if settings.request_timeout.is_zero() {
            r.invalid("server.request_timeout", "must be longer than 0");
        }
        settings
    }
}

/// Reads `server.api_token`, checking that an HTTP header can carry it; problems never quote it.
fn read_api_token(r: &mut ConfigReader<'_>) -> Option<Secret> {
    // The parser cannot fail, so the value never reaches a problem message.
    let token = r.get_with("server.api_token", None, |text| {
        Ok(if text.eq_ignore_ascii_case("off") {
            None
        } else {
            Some(text.to_owned())
        })
    })?;
    if token.is_empty() {
        r.invalid(
            "server.api_token",
            "is empty; set a token, or leave it unset (or `off`) to accept every call",
        );
        return None;
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        r.invalid(
            "server.api_token",
            "must be visible ascii without spaces, since an http header carries it",
        );
    }
    Some(Secret::new(token))
}

/// A path to a PEM file; `off` means none.
fn parse_pem_path(text: &str) -> Result<Option<PathBuf>, String> {
    if text.is_empty() {
        return Err("expected the path of a pem file (or `off`)".to_owned());
    }
    parse_optional::<PathBuf>(text)
}

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
        }
    }

    /// Times every call into `tickmesh_rpc_duration_seconds{method,code}`.
    pub fn with_rpc_metrics(mut self, metrics: tickmesh_telemetry::RpcMetrics) -> Self {
        self.rpc_metrics = Some(metrics);
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
        let mut builder = tonic::transport::Server::builder()
            .timeout(settings.request_timeout)
            .concurrency_limit_per_connection(settings.concurrency_limit);
        if let Some(files) = &settings.tls {
            let identity = read_identity(files).await?;
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity))
                .map_err(|source| ServerError::TlsIdentity {
                    cert: files.cert.clone(),
                    key: files.key.clone(),
                    source,
                })?;
        }
        self.check_gated_paths(settings);
        let gate = BearerAuthLayer::new(Gate::new(
            settings.api_token.clone(),
            std::mem::take(&mut self.gated),
        ));

        let mut reflection = tonic_reflection::server::Builder::configure();
        for set in &self.descriptor_sets {
            reflection = reflection.register_encoded_file_descriptor_set(set);
        }
        for name in self.service_names() {
            reflection = reflection.with_service_name(name);
        }
        self.routes.add_service(reflection.build_v1()?);

        for name in &self.names {
            self.health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        let names = self.names.clone();
        let health = self.health.clone();
        let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
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
            // The receiver lives until `serve` returns; a send error means it already did.
            let _ = draining_tx.send(());
        };

        // Tracing is outside the gate so that rejected calls are traced too.
        let server = builder
            .layer(TraceLayer::new_for_grpc().make_span_with(grpc_span))
            .layer(crate::rpc_timing::RpcTimingLayer::new(
                self.rpc_metrics.clone(),
            ))
            .layer(gate)
            .add_routes(self.routes.routes())
            .serve_with_incoming_shutdown(incoming(listener), signal);
        tokio::pin!(server);
        let grace = settings.shutdown_grace;
        tokio::select! {
            result = &mut server => result.map_err(ServerError::from),
            () = async {
                if draining_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
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

/// The span of one gRPC call: named by its method, continuing the caller's trace when the
/// request carries a W3C `traceparent` header (gRPC metadata), so a trace crosses processes.
fn grpc_span<B>(request: &http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!("grpc.request", method = %request.uri().path());
    if let Some(parent) = request
        .headers()
        .get(tickmesh_telemetry::propagation::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
    {
        tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
    }
    span
}

/// The accepted connections of `listener`, with Nagle's algorithm off: a server-streaming
/// call writes each event as a small HTTP/2 frame, which Nagle would hold back until the
/// previous write is acknowledged, and the client's delayed ACK can make that tens of
/// milliseconds. (`tonic`'s own `serve` does this; `serve_with_incoming` leaves it to us.)
fn incoming(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt as _;
    TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted
            && let Err(e) = stream.set_nodelay(true)
        {
            tracing::debug!(error = %e, "cannot turn Nagle's algorithm off");
        }
        accepted
    })
}
