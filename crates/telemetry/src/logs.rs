//! Tracing subscriber set-up and the optional OTLP span exporter.

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// The standard OpenTelemetry variable naming the OTLP collector; export is off without it.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable, coloured when standard error is a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// A log format name that is neither `pretty` nor `json`.
#[derive(Debug, thiserror::Error)]
#[error("expected `pretty` or `json`, got `{0}`")]
pub struct LogFormatError(String);

impl FromStr for LogFormat {
    type Err = LogFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err(LogFormatError(s.to_owned())),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        })
    }
}

/// What [`init`] needs to know.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// The `service.name` resource attribute of exported spans.
    pub service_name: String,
    /// Log line format.
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive such as `info,tickmesh_feeds=debug`;
    /// `RUST_LOG`, when set, wins (the convention people reach for first).
    pub filter: String,
    /// The OTLP collector endpoint; `None` disables export. The composition root reads it
    /// from [`OTLP_ENDPOINT_VAR`] so that this crate never touches the environment itself.
    pub otlp_endpoint: Option<String>,
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter did not parse.
    #[error("invalid log filter `{filter}`")]
    Filter {
        /// The filter as given.
        filter: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// The OTLP exporter could not be built.
    #[error("cannot build the otlp span exporter for `{endpoint}`")]
    Otlp {
        /// The endpoint as given.
        endpoint: String,
        /// The exporter's complaint.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A global subscriber was already installed (telemetry initialised twice).
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
}

/// Keeps the span exporter alive; dropping it flushes what is still batched.
#[must_use = "dropping the guard stops span export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("otlp", &self.provider.is_some())
            .finish()
    }
}

impl TelemetryGuard {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Logging may already be torn down; standard error is the last resort.
            if let Err(e) = provider.shutdown() {
                eprintln!("tickmesh: flushing spans on exit failed: {e}");
            }
        }
    }
}

/// Installs the global tracing subscriber (and the W3C trace-context propagator).
pub fn init(
    config: &TelemetryConfig,
    rust_log: Option<&str>,
) -> Result<TelemetryGuard, TelemetryError> {
    let directive = rust_log.unwrap_or(&config.filter);
    let filter =
        EnvFilter::builder()
            .parse(directive)
            .map_err(|source| TelemetryError::Filter {
                filter: directive.to_owned(),
                source,
            })?;

    let fmt_layer = match config.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let provider = match &config.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(&config.service_name, endpoint)?),
        None => None,
    };
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(config.service_name.clone())));

    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard { provider })
}

fn otlp_provider(service_name: &str, endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Otlp {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_parses_both_names_and_rejects_others() {
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!("Pretty".parse::<LogFormat>().unwrap(), LogFormat::Pretty);
        let err = "yaml".parse::<LogFormat>().unwrap_err();
        assert_eq!(err.to_string(), "expected `pretty` or `json`, got `yaml`");
    }

    #[test]
    fn a_bad_filter_is_reported_with_the_filter() {
        let config = TelemetryConfig {
            service_name: "t".into(),
            format: LogFormat::Json,
            filter: "info,[".into(),
            otlp_endpoint: None,
        };
        let err = init(&config, None).unwrap_err();
        assert!(err.to_string().contains("info,["), "{err}");
    }
}
