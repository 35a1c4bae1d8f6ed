//! The `server` configuration section: where the gRPC server listens, its timeouts and
//! limits, its API token and its TLS identity.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Whether every call but health's needs the token, reads included
    /// (`server.token_for_reads`), for deployments that do not serve market data publicly.
    pub token_for_reads: bool,
    /// The certificate and key to serve TLS with (`server.tls_cert` and `server.tls_key`, both
    /// or neither); `None` serves plain-text HTTP/2.
    pub tls: Option<TlsFiles>,
    /// How connections are kept healthy and bounded.
    pub connections: ConnectionSettings,
    /// What calls may hold across every connection.
    pub calls: CallLimitSettings,
    /// The browser side: gRPC-Web and the page (`web.*`).
    pub web: WebSettings,
}

/// What calls may hold across every connection, read from the `server` section. A call over a
/// limit gets `RESOURCE_EXHAUSTED` naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimitSettings {
    /// Calls open at once on the whole server, a stream counting until it ends
    /// (`server.max_calls_in_flight`). Health checks do not count.
    pub max_in_flight: usize,
    /// Calls of one method open at once on the whole server (`server.max_calls_per_method`).
    pub max_in_flight_per_method: usize,
    /// The most bytes one request may carry (`server.max_request_bytes`), at most tonic's own
    /// ceiling of 4 MiB per message.
    pub max_request_bytes: usize,
}

impl CallLimitSettings {
    /// tonic refuses a message over 4 MiB whatever is configured.
    pub const MAX_REQUEST_BYTES_CEILING: usize = 4 * 1024 * 1024;

    fn read(r: &mut ConfigReader<'_>) -> Self {
        let d = Self::default();
        let settings = CallLimitSettings {
            max_in_flight: r.get("server.max_calls_in_flight", d.max_in_flight),
            max_in_flight_per_method: r
                .get("server.max_calls_per_method", d.max_in_flight_per_method),
            max_request_bytes: r.get("server.max_request_bytes", d.max_request_bytes),
        };
        for (key, value) in [
            ("server.max_calls_in_flight", settings.max_in_flight),
            (
                "server.max_calls_per_method",
                settings.max_in_flight_per_method,
            ),
            ("server.max_request_bytes", settings.max_request_bytes),
        ] {
            if value == 0 {
                r.invalid(key, "must be at least 1");
            }
        }
        if settings.max_request_bytes > Self::MAX_REQUEST_BYTES_CEILING {
            r.invalid(
                "server.max_request_bytes",
                format!(
                    "must be at most {} (4 MiB), the largest message the grpc layer decodes",
                    Self::MAX_REQUEST_BYTES_CEILING
                ),
            );
        }
        settings
    }
}

impl Default for CallLimitSettings {
    fn default() -> Self {
        CallLimitSettings {
            // A stream client costs its buffer (up to 1,024 events) and its HTTP/2 stream;
            // 8,192 of them stay within a few hundred MiB.
            max_in_flight: 8192,
            // Half of the total, so one method (StreamTicks, say) cannot take every slot from
            // the others.
            max_in_flight_per_method: 4096,
            // The largest legitimate request (a StreamTicks filter of 256 markets) is a few
            // KiB.
            max_request_bytes: 1024 * 1024,
        }
    }
}

/// What one client connection may hold and how dead ones are found, read from the `server`
/// section. Every limit is per connection; a client over one is refused at the HTTP/2 level
/// (a stream it may not open) rather than slowing everyone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Streams (calls) one connection may have open at once, streaming calls included
    /// (`server.max_concurrent_streams`).
    pub max_concurrent_streams: u32,
    /// How often an idle connection is pinged over HTTP/2 (`server.keepalive_interval`);
    /// `None` (`off`) never pings.
    pub keepalive_interval: Option<Duration>,
    /// How long a ping may go unanswered before the connection is closed
    /// (`server.keepalive_timeout`).
    pub keepalive_timeout: Duration,
    /// TCP keepalive on accepted sockets (`server.tcp_keepalive`); `None` (`off`) leaves it off.
    pub tcp_keepalive: Option<Duration>,
    /// Connections older than this are asked to go away, so clients spread over new replicas
    /// (`server.max_connection_age`); `None` (`off`, the default) keeps them.
    pub max_connection_age: Option<Duration>,
    /// How long calls on a connection asked to go away may still run
    /// (`server.max_connection_age_grace`).
    pub max_connection_age_grace: Duration,
    /// The longest a TLS handshake may take (`server.tls_handshake_timeout`).
    pub tls_handshake_timeout: Duration,
    /// How long a new connection may take to send its first 24 bytes, the HTTP/2 preface or
    /// the start of its TLS handshake (`server.preface_timeout`).
    pub preface_timeout: Duration,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            // hyper's own default, which tonic otherwise lifts.
            max_concurrent_streams: 200,
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_timeout: Duration::from_secs(10),
            tcp_keepalive: Some(Duration::from_secs(60)),
            max_connection_age: None,
            max_connection_age_grace: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
            preface_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectionSettings {
    fn read(r: &mut ConfigReader<'_>) -> Self {
        let d = Self::default();
        let settings = ConnectionSettings {
            max_concurrent_streams: r
                .get("server.max_concurrent_streams", d.max_concurrent_streams),
            keepalive_interval: r
                .optional_duration("server.keepalive_interval", d.keepalive_interval),
            keepalive_timeout: r.duration("server.keepalive_timeout", d.keepalive_timeout),
            tcp_keepalive: r.optional_duration("server.tcp_keepalive", d.tcp_keepalive),
            max_connection_age: r
                .optional_duration("server.max_connection_age", d.max_connection_age),
            max_connection_age_grace: r.duration(
                "server.max_connection_age_grace",
                d.max_connection_age_grace,
            ),
            tls_handshake_timeout: r
                .duration("server.tls_handshake_timeout", d.tls_handshake_timeout),
            preface_timeout: r.duration("server.preface_timeout", d.preface_timeout),
        };
        if settings.max_concurrent_streams == 0 {
            r.invalid("server.max_concurrent_streams", "must be at least 1");
        }
        for (key, value) in [
            ("server.keepalive_timeout", settings.keepalive_timeout),
            (
                "server.tls_handshake_timeout",
                settings.tls_handshake_timeout,
            ),
            ("server.preface_timeout", settings.preface_timeout),
        ] {
            if value.is_zero() {
                r.invalid(key, "must be longer than 0");
            }
        }
        settings
    }
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
            token_for_reads: false,
            tls: None,
            connections: ConnectionSettings::default(),
            calls: CallLimitSettings::default(),
            web: WebSettings::default(),
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
            token_for_reads: r.get("server.token_for_reads", false),
            tls: None,
            connections: ConnectionSettings::read(r),
            calls: CallLimitSettings::read(r),
            web: WebSettings::read(r),
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
        if settings.token_for_reads && settings.api_token.is_none() {
            r.invalid(
                "server.token_for_reads",
                "needs `server.api_token`: set the token every call must then carry",
            );
        }
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

/// The browser side of the server: gRPC-Web (HTTP/1.1 or HTTP/2, through tonic-web) and, in
/// a process that has it, the web page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// Whether to serve gRPC-Web and the page at all (`web.enabled`, default true).
    pub enabled: bool,
    /// A listener of their own (`web.listen`); `None` serves them on `server.listen`, which
    /// then also speaks HTTP/1.1.
    pub listen: Option<SocketAddr>,
    /// Serve the page's files from this directory, read on every request, instead of the
    /// embedded ones (`web.assets_dir`; for working on the page).
    pub assets_dir: Option<PathBuf>,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: None,
            assets_dir: None,
        }
    }
}

impl WebSettings {
    /// Reads the `web` section.
    pub fn read(r: &mut ConfigReader<'_>) -> Self {
        let settings = Self {
            enabled: r.get("web.enabled", true),
            listen: r.optional("web.listen", None),
            assets_dir: r.optional("web.assets_dir", None),
        };
        let off = "is set but `web.enabled` is false; unset one of them";
        if !settings.enabled && settings.listen.is_some() {
            r.invalid("web.listen", off);
        }
        if !settings.enabled && settings.assets_dir.is_some() {
            r.invalid("web.assets_dir", off);
        }
        settings
    }
}

/// A path to a PEM file; `off` means none.
fn parse_pem_path(text: &str) -> Result<Option<PathBuf>, String> {
    if text.is_empty() {
        return Err("expected the path of a pem file (or `off`)".to_owned());
    }
    parse_optional::<PathBuf>(text)
}
