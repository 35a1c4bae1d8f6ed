//! The gRPC server every tickmesh process runs: the services it hosts plus `grpc.health.v1` and
//! server reflection (v1), behind a tower stack of request tracing, a per-request timeout and a
//! per-connection concurrency limit.
//!
//! Shutdown is graceful and bounded: when the shutdown future completes, every hosted service
//! (and the overall `""` entry) turns `NOT_SERVING` so load balancers stop routing here, the
//! listener stops accepting, and in-flight calls get [`ServerSettings::shutdown_grace`] to
//! finish before the server gives up on them.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::Service;
use tower_http::trace::TraceLayer;

use crate::config::ConfigReader;

/// Server tuning, read from the `server` configuration section.
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
}

impl ServerSettings {
    /// The default gRPC address of `tickmesh up`.
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50051);

    /// Reads the `server` section.
    pub fn read(r: &mut ConfigReader<'_>) -> Self {
        let settings = Self {
            listen: r.get("server.listen", Self::DEFAULT_LISTEN),
            request_timeout: r.duration("server.request_timeout", Duration::from_secs(30)),
            concurrency_limit: r.get("server.concurrency_limit", 1024),
            // Short enough that a client which never answers the HTTP/2 GOAWAY cannot hold
            // the exit past 5 s; streams end by themselves when their service shuts down.
            shutdown_grace: r.duration("server.shutdown_grace", Duration::from_secs(4)),
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

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The reflection service could not load a descriptor set.
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("the grpc server failed")]
    Transport(#[from] tonic::transport::Error),
}

/// The services a process hosts, gathered before it serves.
pub struct GrpcServer {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    health: HealthReporter,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("services", &self.names)
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
        }
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
        self.routes.add_service(service);
        self.names.push(S::NAME);
        if !self.descriptor_sets.contains(&descriptor_set) {
            self.descriptor_sets.push(descriptor_set);
        }
        self
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
    pub async fn serve(
        mut self,
        listener: TcpListener,
        settings: &ServerSettings,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
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

        let server = tonic::transport::Server::builder()
            .timeout(settings.request_timeout)
            .concurrency_limit_per_connection(settings.concurrency_limit)
            .layer(TraceLayer::new_for_grpc())
            .add_routes(self.routes.routes())
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal);
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

/// The name of the reflection v1 service.
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
