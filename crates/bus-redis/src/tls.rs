//! TLS to Redis: the files configured (`bus.redis_ca`, `bus.redis_cert`, `bus.redis_key`) as
//! redis-rs wants them, and as a rustls connector for the adapter's own connections.
//!
//! Without a CA file the system's roots are trusted, as redis-rs does; the server's name is
//! always checked against its certificate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tickmesh_bus::BusError;
use tokio_rustls::TlsConnector;

use crate::BACKEND;

/// The files of a TLS connection; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM CA certificate(s) to trust instead of the system's roots.
    pub ca: Option<PathBuf>,
    /// PEM client certificate chain, for servers that require one (`tls-auth-clients`).
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
}

impl TlsFiles {
    /// Whether no file is given (system roots, no client certificate).
    pub fn is_default(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }
}

fn rejected(reason: String) -> BusError {
    BusError::Rejected {
        backend: BACKEND,
        reason,
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, BusError> {
    std::fs::read(path).map_err(|e| {
        rejected(format!(
            "cannot read the redis {what} {}: {e}",
            path.display()
        ))
    })
}

/// The client certificate and key, both or neither.
fn client_pair(files: &TlsFiles) -> Result<Option<(&Path, &Path)>, BusError> {
    match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (None, None) => Ok(None),
        _ => Err(rejected(
            "a redis client certificate needs both bus.redis_cert and bus.redis_key".to_owned(),
        )),
    }
}

/// The files as redis-rs's `build_with_tls` takes them.
pub(crate) fn redis_certificates(files: &TlsFiles) -> Result<redis::TlsCertificates, BusError> {
    let client_tls = client_pair(files)?
        .map(|(cert, key)| {
            Ok::<_, BusError>(redis::ClientTlsConfig {
                client_cert: read(cert, "client certificate")?,
                client_key: read(key, "client key")?,
            })
        })
        .transpose()?;
    let root_cert = files
        .ca
        .as_deref()
        .map(|ca| read(ca, "ca certificate"))
        .transpose()?;
    Ok(redis::TlsCertificates {
        client_tls,
        root_cert,
    })
}

/// The system's roots, loaded once per process.
fn native_roots() -> Result<Arc<RootCertStore>, BusError> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 {
                Err(format!(
                    "no system ca certificates found ({} errors); set bus.redis_ca",
                    loaded.errors.len()
                ))
            } else {
                Ok(Arc::new(roots))
            }
        })
        .clone()
        .map_err(rejected)
}

fn ca_roots(path: &Path) -> Result<Arc<RootCertStore>, BusError> {
    let pem = read(path, "ca certificate")?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert
            .map_err(|e| rejected(format!("{} is not a pem certificate: {e}", path.display())))?;
        roots.add(cert).map_err(|e| {
            rejected(format!(
                "{} is not a usable ca certificate: {e}",
                path.display()
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(rejected(format!(
            "{} holds no pem certificate",
            path.display()
        )));
    }
    Ok(Arc::new(roots))
}

/// A rustls connector trusting the configured CA (or the system's roots) and presenting the
/// client certificate, if one is configured.
pub(crate) fn connector(files: &TlsFiles) -> Result<TlsConnector, BusError> {
    let roots = match &files.ca {
        Some(ca) => ca_roots(ca)?,
        None => native_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| rejected(format!("tls setup: {e}")))?
        .with_root_certificates(roots);
    let config = match client_pair(files)? {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(&read(cert, "client certificate")?)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    rejected(format!("{} is not a pem certificate: {e}", cert.display()))
                })?;
            // The key file's own error never quotes the key.
            let key_der =
                PrivateKeyDer::from_pem_slice(&read(key, "client key")?).map_err(|e| {
                    rejected(format!("{} is not a pem private key: {e}", key.display()))
                })?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| rejected(format!("unusable redis client certificate: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name the server's certificate must carry: a DNS name or an IP address.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, BusError> {
    ServerName::try_from(host.to_owned()).map_err(|e| {
        rejected(format!(
            "{host:?} cannot be checked against a certificate: {e}"
        ))
    })
}
