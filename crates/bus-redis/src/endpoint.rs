//! One Redis server to connect to (the master, or a sentinel), with what the connection needs:
//! TLS, the ACL user and password, the database. Both client stacks are built from it, so
//! redis-rs's connections and the adapter's own RESP connections reach the same server the
//! same way.

use std::path::PathBuf;

use redis::{ConnectionAddr, IntoConnectionInfo as _, RedisConnectionInfo};
use tickmesh_bus::BusError;
use tickmesh_secret::Secret;

use crate::BACKEND;
use crate::tls::{self, TlsFiles};

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

/// A server and how to log in to it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) address: Address,
    /// `Some` for TLS: the CA and client certificate files, if any.
    pub(crate) tls: Option<TlsFiles>,
    /// ACL user (`AUTH user password`); `None` is the default user.
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret>,
    pub(crate) db: i64,
}

impl Endpoint {
    /// A `host:port` reached as configured for TLS and login.
    pub(crate) fn tcp(
        host_port: &str,
        tls: Option<TlsFiles>,
        username: Option<String>,
        password: Option<Secret>,
    ) -> Result<Endpoint, BusError> {
        let (host, port) = split_host_port(host_port).ok_or_else(|| BusError::Rejected {
            backend: BACKEND,
            reason: format!("{host_port:?} is not host:port"),
        })?;
        Ok(Endpoint {
            address: Address::Tcp { host, port },
            tls,
            username,
            password,
            db: 0,
        })
    }

    /// The server a `redis://`, `rediss://` or `redis+unix://` URL names. `username` and
    /// `password`, when given, replace the URL's own; `tls` gives the files a `rediss://` URL
    /// uses (and is ignored for others).
    pub(crate) fn from_url(
        url: &Secret,
        tls: &TlsFiles,
        username: Option<&String>,
        password: Option<&Secret>,
    ) -> Result<Endpoint, BusError> {
        let invalid = |why: String| BusError::Rejected {
            backend: BACKEND,
            reason: format!("invalid redis url {url}: {why}"),
        };
        // redis-rs's messages say what is wrong without repeating the URL.
        let info = url
            .expose()
            .into_connection_info()
            .map_err(|e| invalid(e.to_string()))?;
        let (address, tls) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (
                Address::Tcp {
                    host: host.clone(),
                    port: *port,
                },
                None,
            ),
            ConnectionAddr::TcpTls { insecure: true, .. } => {
                return Err(invalid(
                    "#insecure would skip the server's certificate check; give its CA in bus.redis_ca instead"
                        .to_owned(),
                ));
            }
            ConnectionAddr::TcpTls { host, port, .. } => (
                Address::Tcp {
                    host: host.clone(),
                    port: *port,
                },
                Some(tls.clone()),
            ),
            ConnectionAddr::Unix(path) => (Address::Unix(path.clone()), None),
            other => return Err(invalid(format!("unsupported address {other}"))),
        };
        let settings = info.redis_settings();
        Ok(Endpoint {
            address,
            tls,
            username: username
                .cloned()
                .or_else(|| settings.username().map(str::to_owned)),
            password: password
                .cloned()
                .or_else(|| settings.password().map(Secret::new)),
            db: settings.db(),
        })
    }

    /// `host:port` (or the socket's path), for messages: never a credential.
    pub(crate) fn describe(&self) -> String {
        match &self.address {
            Address::Tcp { host, port } => format!("{host}:{port}"),
            Address::Unix(path) => path.display().to_string(),
        }
    }

    /// A redis-rs client for this server.
    pub(crate) fn client(&self) -> Result<redis::Client, BusError> {
        let addr = match (&self.address, &self.tls) {
            (Address::Tcp { host, port }, None) => ConnectionAddr::Tcp(host.clone(), *port),
            (Address::Tcp { host, port }, Some(_)) => ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            },
            (Address::Unix(path), _) => ConnectionAddr::Unix(path.clone()),
        };
        let mut settings = RedisConnectionInfo::default().set_db(self.db);
        if let Some(user) = &self.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password.expose());
        }
        let info = addr
            .into_connection_info()
            .map(|info| info.set_redis_settings(settings))
            .map_err(crate::unavailable)?;
        let client = match &self.tls {
            Some(files) if !files.is_default() => {
                redis::Client::build_with_tls(info, tls::redis_certificates(files)?)
            }
            _ => redis::Client::open(info),
        };
        client.map_err(|e| BusError::Rejected {
            backend: BACKEND,
            reason: format!("cannot set up a client for {}: {e}", self.describe()),
        })
    }
}

/// `host:port`, `[v6]:port`; the port is required.
fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.trim().rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().ok()?;
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_url_gives_address_tls_and_login_and_configured_ones_win() {
        let files = TlsFiles::default();
        let url = Secret::url("rediss://app:urlpw@redis.internal:6380/2");
        let e = Endpoint::from_url(&url, &files, None, None).unwrap();
        assert_eq!(
            e.address,
            Address::Tcp {
                host: "redis.internal".into(),
                port: 6380
            }
        );
        assert!(e.tls.is_some());
        assert_eq!(e.username.as_deref(), Some("app"));
        assert_eq!(e.password.as_ref().map(Secret::expose), Some("urlpw"));
        assert_eq!(e.db, 2);
        let user = "other".to_owned();
        let password = Secret::new("configured");
        let e = Endpoint::from_url(&url, &files, Some(&user), Some(&password)).unwrap();
        assert_eq!(e.username.as_deref(), Some("other"));
        assert_eq!(e.password.as_ref().map(Secret::expose), Some("configured"));
        let plain = Endpoint::from_url(&Secret::url("redis://h:1"), &files, None, None).unwrap();
        assert!(plain.tls.is_none() && plain.password.is_none());
    }

    #[test]
    fn insecure_tls_and_bad_urls_are_refused_without_the_password() {
        let files = TlsFiles::default();
        for url in [
            "rediss://:Sekrit@h:1/#insecure",
            "redis://:Sekrit@h:x",
            "http://:Sekrit@h",
        ] {
            let err = Endpoint::from_url(&Secret::url(url), &files, None, None).unwrap_err();
            assert!(!err.to_string().contains("Sekrit"), "{err}");
            assert!(err.to_string().contains(":***@h"), "{err}");
        }
    }

    #[test]
    fn host_and_port_split() {
        assert_eq!(split_host_port("a:1"), Some(("a".into(), 1)));
        assert_eq!(split_host_port("[::1]:26379"), Some(("::1".into(), 26379)));
        assert_eq!(split_host_port("a"), None);
        assert_eq!(split_host_port(":1"), None);
    }
}
