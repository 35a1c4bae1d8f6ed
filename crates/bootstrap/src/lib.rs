//! What every tickmesh process shares, whichever services it hosts:
//!
//! - [`config`]: layered typed configuration (file, then `TICKMESH__SECTION__KEY` variables)
//!   reporting every invalid or unknown key at once;
//! - [`server`]: the tonic server with health, reflection and the tower stack (bearer-token
//!   gating of mutating methods included), over plain text or TLS, serving on a bound listener
//!   until a shutdown future completes, then draining within a grace period;
//! - [`client`]: a channel to a tickmesh server over plain text or TLS, and bearer tokens;
//! - [`metrics_http`]: the Prometheus `/metrics` endpoint;
//! - [`shutdown`]: SIGTERM and SIGINT as a future;
//! - [`supervise`]: the services a process hosts, watched: one failing takes the process down,
//!   and shutdown stops them in order within a grace period.

mod auth;
mod call_limits;
pub mod client;
pub mod config;
pub mod metrics_http;
pub mod process;
mod rpc_timing;
pub mod server;
pub mod shutdown;
pub mod supervise;

pub use client::{
    ClientError, ClientKeepalive, bearer, connect_channel, connect_channel_with, propagate_trace,
};
pub use config::{ConfigError, ConfigReader, ConfigSources, Secret, TomlSyntax};
pub use metrics_http::serve_metrics;
pub use process::ProcessConfig;
pub use server::{CallLimitSettings, GrpcServer, ServerError, ServerSettings, TlsFiles};
pub use shutdown::terminate_signal;
pub use supervise::{
    ServiceHandle, ServiceResult, ServiceStop, StopMode, Supervisor, SupervisorError,
};
