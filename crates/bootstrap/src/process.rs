//! The configuration sections every process has: `server`, `metrics` and `log`.

use std::net::SocketAddr;

use tickmesh_telemetry::{LogFormat, TelemetryConfig};

use crate::config::ConfigReader;
use crate::server::ServerSettings;

/// The default address of the Prometheus endpoint.
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// What every tickmesh process is configured with, whatever services it runs.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// The gRPC server.
    pub server: ServerSettings,
    /// The Prometheus endpoint address; `None` when `metrics.listen = "off"`.
    pub metrics_listen: Option<SocketAddr>,
    /// Log format (`log.format`).
    pub log_format: LogFormat,
    /// Log filter (`log.filter`).
    pub log_filter: String,
}

impl ProcessConfig {
    /// Reads the `server`, `metrics` and `log` sections.
    pub fn read(r: &mut ConfigReader<'_>) -> Self {
        Self {
            server: ServerSettings::read(r),
            metrics_listen: r.optional("metrics.listen", Some(DEFAULT_METRICS_LISTEN)),
            log_format: r.get("log.format", LogFormat::Pretty),
            log_filter: r.get("log.filter", "info".to_owned()),
        }
    }

    /// The telemetry settings for a process named `service_name`.
    pub fn telemetry(&self, service_name: &str, otlp_endpoint: Option<String>) -> TelemetryConfig {
        TelemetryConfig {
            service_name: service_name.to_owned(),
            format: self.log_format,
            filter: self.log_filter.clone(),
            otlp_endpoint,
        }
    }
}
