//! What every tickmesh process shares, whichever services it hosts:
//!
//! - [`config`]: layered typed configuration (file, then `TICKMESH__SECTION__KEY` variables)
//!   reporting every invalid or unknown key at once;
//! - [`server`]: the tonic server with health, reflection and the tower stack, serving on a
//!   bound listener until a shutdown future completes, then draining within a grace period;
//! - [`metrics_http`]: the Prometheus `/metrics` endpoint;
//! - [`shutdown`]: SIGTERM and SIGINT as a future.

pub mod config;
pub mod metrics_http;
pub mod process;
pub mod server;
pub mod shutdown;

pub use config::{ConfigError, ConfigReader, ConfigSources};
pub use metrics_http::serve_metrics;
pub use process::ProcessConfig;
pub use server::{GrpcServer, ServerError, ServerSettings};
pub use shutdown::terminate_signal;
