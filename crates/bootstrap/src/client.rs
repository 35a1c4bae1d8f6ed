//! Connecting to a tickmesh server: a [`Channel`] over plain-text HTTP/2 (`http://`) or TLS
//! (`https://`), and the bearer token for calls that need one.
//!
//! This build trusts no system or webpki root store (tonic is built with `tls-ring` only), so an
//! `https://` URL needs the PEM file of the CA that signed the server's certificate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// How long [`connect_channel`] waits for the connection (TCP, TLS and HTTP/2) to be up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL does not parse.
    #[error(
        "`{url}` is not a valid server url; expected one such as `http://127.0.0.1:50051` or `https://host:50051`"
    )]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What the parser said.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// The URL is neither `http://host:port` nor `https://host:port`.
    #[error("`{url}` must start with http:// (plain text) or https:// (tls) and name a host")]
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// An `https://` URL came without a CA certificate.
    #[error(
        "`{url}` uses https but no ca certificate was given; pass the pem file of the ca that signed the server's certificate (this build trusts no system or webpki roots)"
    )]
    CaRequired {
        /// The URL as given.
        url: String,
    },
    /// A CA certificate came with a plain-text `http://` URL.
    #[error(
        "a ca certificate was given but `{url}` is plain http; use an https:// url to connect with tls"
    )]
    CaWithoutTls {
        /// The URL as given.
        url: String,
    },
    /// The CA file could not be read.
    #[error("cannot read the ca certificate file {}", path.display())]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// TLS could not be set up with the CA file for this URL.
    #[error(
        "cannot set up tls for `{url}`; check that {} holds a pem ca certificate and that the url names a valid host",
        ca.display()
    )]
    Tls {
        /// The URL as given.
        url: String,
        /// The CA file.
        ca: PathBuf,
        /// What TLS said.
        #[source]
        source: tonic::transport::Error,
    },
    /// The server could not be reached, or the handshake failed.
    #[error("cannot connect to `{url}`; {}", connect_hint(.tls))]
    Connect {
        /// The URL as given.
        url: String,
        /// Whether TLS was in use.
        tls: bool,
        /// The transport's error.
        #[source]
        source: tonic::transport::Error,
    },
    /// The connection was not up within [`CONNECT_TIMEOUT`].
    #[error(
        "connecting to `{url}` took longer than {timeout:?}; check the address and that no firewall drops the connection"
    )]
    Timeout {
        /// The URL as given.
        url: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// The bearer token cannot be sent in a header.
    #[error(
        "the bearer token is empty or holds characters an http header cannot carry; use visible ascii without spaces"
    )]
    InvalidToken,
}

fn connect_hint(tls: &bool) -> &'static str {
    if *tls {
        "check that the server is running there and serves tls, and that its certificate is signed by the given ca and names the url's host"
    } else {
        "check that the server is running there and serves plain text (a server with tls needs an https:// url)"
    }
}

/// How a client finds out that its server went away without closing the connection (a
/// half-open link): an HTTP/2 ping every `interval`, also while no call is open, and the
/// connection given up when one is not answered within `timeout`; calls on it then fail, and
/// a long-lived watch can reconnect instead of waiting forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientKeepalive {
    /// Time between pings.
    pub interval: Duration,
    /// How long a ping may go unanswered.
    pub timeout: Duration,
}

impl Default for ClientKeepalive {
    fn default() -> Self {
        ClientKeepalive {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// TCP keepalive on client sockets, under the HTTP/2 pings.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// Connects to the server at `url` (`http://host:port` or `https://host:port`), trusting the CA
/// in the PEM file `ca_pem` for `https://`, within [`CONNECT_TIMEOUT`], with the default
/// [`ClientKeepalive`].
///
/// `https://` needs `ca_pem`, and `ca_pem` needs `https://`: this build has no root store to
/// fall back on, and a CA given for a plain-text URL would most likely be a mistake.
pub async fn connect_channel(url: &str, ca_pem: Option<&Path>) -> Result<Channel, ClientError> {
    connect_channel_with(url, ca_pem, ClientKeepalive::default()).await
}

/// [`connect_channel`] with the given keepalive.
pub async fn connect_channel_with(
    url: &str,
    ca_pem: Option<&Path>,
    keepalive: ClientKeepalive,
) -> Result<Channel, ClientError> {
    let uri: http::Uri = url.parse().map_err(|source| ClientError::InvalidUrl {
        url: url.to_owned(),
        source,
    })?;
    let tls = match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(_)) => true,
        (Some("http"), Some(_)) => false,
        _ => {
            return Err(ClientError::Scheme {
                url: url.to_owned(),
            });
        }
    };
    let mut endpoint = Endpoint::from(uri)
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(keepalive.interval)
        .keep_alive_timeout(keepalive.timeout)
        .keep_alive_while_idle(true)
        .tcp_keepalive(Some(TCP_KEEPALIVE));
    match (tls, ca_pem) {
        (true, None) => {
            return Err(ClientError::CaRequired {
                url: url.to_owned(),
            });
        }
        (false, Some(_)) => {
            return Err(ClientError::CaWithoutTls {
                url: url.to_owned(),
            });
        }
        (false, None) => {}
        (true, Some(ca)) => {
            let pem = tokio::fs::read(ca)
                .await
                .map_err(|source| ClientError::ReadCa {
                    path: ca.to_owned(),
                    source,
                })?;
            let config = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(pem))
                .timeout(CONNECT_TIMEOUT);
            endpoint = endpoint
                .tls_config(config)
                .map_err(|source| ClientError::Tls {
                    url: url.to_owned(),
                    ca: ca.to_owned(),
                    source,
                })?;
        }
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect()).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(source)) => Err(ClientError::Connect {
            url: url.to_owned(),
            tls,
            source,
        }),
        Err(_) => Err(ClientError::Timeout {
            url: url.to_owned(),
            timeout: CONNECT_TIMEOUT,
        }),
    }
}

/// Sets `authorization: Bearer <token>` on `request`, replacing any earlier value, and marks it
/// sensitive so HTTP/2 header compression never indexes it. Surrounding whitespace (such as the
/// newline of a token file) is ignored.
pub fn bearer<T>(request: &mut tonic::Request<T>, token: &str) -> Result<(), ClientError> {
    let token = token.trim();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ClientError::InvalidToken);
    }
    let mut value: AsciiMetadataValue = MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| ClientError::InvalidToken)?;
    value.set_sensitive(true);
    request.metadata_mut().insert("authorization", value);
    Ok(())
}

/// Puts the current span's W3C `traceparent` into `request`'s metadata, so the server's span
/// continues this trace (see the server's `grpc.request` spans). Nothing happens when the
/// current span has no trace context (no OpenTelemetry exporter configured).
pub fn propagate_trace<T>(request: &mut tonic::Request<T>) {
    if let Some(traceparent) = tickmesh_telemetry::propagation::current_traceparent()
        && let Ok(value) = traceparent.parse()
    {
        request
            .metadata_mut()
            .insert(tickmesh_telemetry::propagation::TRACEPARENT, value);
    }
}
