//! Process telemetry for every tickmesh service: structured logs through `tracing` (pretty for
//! people, JSON for log pipelines), OpenTelemetry trace export over OTLP when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` variable is set, and the Prometheus registry that services
//! register their metrics in.
//!
//! Call [`init`] once, early in `main`, and keep the returned [`TelemetryGuard`] alive until
//! the process exits: dropping it flushes spans still waiting in the batch exporter.

mod errors;
mod logs;
mod metrics;
pub mod propagation;

pub use errors::ErrorChain;
pub use logs::{
    LogFormat, LogFormatError, OTLP_ENDPOINT_VAR, TelemetryConfig, TelemetryError, TelemetryGuard,
    init,
};
pub use metrics::{Metrics, RpcMetrics, Scrape};
