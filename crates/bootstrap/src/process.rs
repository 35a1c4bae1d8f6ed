//! The configuration sections every process has: `server`, `metrics`, `log` and `runtime`.

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
    /// Tokio worker threads (`runtime.worker_threads`); `None` (`auto`) is one per core the
    /// process may use.
    pub worker_threads: Option<usize>,
}

impl ProcessConfig {
    /// Reads the `server`, `metrics`, `log` and `runtime` sections.
    pub fn read(r: &mut ConfigReader<'_>) -> Self {
        Self {
            server: ServerSettings::read(r),
            metrics_listen: r.optional("metrics.listen", Some(DEFAULT_METRICS_LISTEN)),
            log_format: r.get("log.format", LogFormat::Pretty),
            log_filter: r.get("log.filter", "info".to_owned()),
            worker_threads: r.get_with("runtime.worker_threads", None, parse_workers),
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

/// `auto` or a positive count.
fn parse_workers(text: &str) -> Result<Option<usize>, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    match text.parse::<usize>() {
        Ok(0) | Err(_) => Err("expected `auto` or a number of threads, 1 or more".to_owned()),
        Ok(n) => Ok(Some(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_workers;

    #[test]
    fn worker_threads_are_auto_or_positive() {
        assert_eq!(parse_workers("auto"), Ok(None));
        assert_eq!(parse_workers("AUTO"), Ok(None));
        assert_eq!(parse_workers("1"), Ok(Some(1)));
        assert_eq!(parse_workers("8"), Ok(Some(8)));
        assert!(parse_workers("0").is_err());
        assert!(parse_workers("two").is_err());
    }
}
