//! Where Redis is, how to log in to it, and how the stream is bounded.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tickmesh_bus::BusError;
use tickmesh_secret::Secret;

use crate::endpoint::Endpoint;
use crate::tls::TlsFiles;
use crate::{BACKEND, unavailable};

/// How to reach the Redis master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// A URL: `redis://[user:password@]host:6379/0`, `rediss://` for TLS. Its `Debug` and
    /// `Display` mask the password.
    Url(Secret),
    /// Sentinels to ask for the current master of `master`; commands follow it to a new
    /// address after a failover.
    Sentinel {
        /// `host:port` of each sentinel.
        sentinels: Vec<String>,
        /// The monitored master's name.
        master: String,
    },
}

/// Redis adapter settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// Where Redis is.
    pub target: RedisTarget,
    /// ACL user of the master (and replicas), over a URL's own.
    pub username: Option<String>,
    /// Password of the master (and replicas), over a URL's own.
    pub password: Option<Secret>,
    /// Behind Sentinel: ACL user of the sentinels.
    pub sentinel_username: Option<String>,
    /// Behind Sentinel: password of the sentinels (their `requirepass`).
    pub sentinel_password: Option<Secret>,
    /// Behind Sentinel: TLS to the sentinels and to the master. With a URL, its scheme
    /// (`rediss://`) decides.
    pub sentinel_tls: bool,
    /// CA and client certificate for TLS connections.
    pub tls: TlsFiles,
    /// The stream the publisher appends to (`tickmesh:events`).
    pub stream: String,
    /// Approximate bound of every stream (`XADD MAXLEN ~`): entries beyond it are trimmed
    /// oldest first, acknowledged or not, so size it to hold the longest bridge outage.
    pub stream_maxlen: usize,
    /// A pending entry idle this long is taken over by another group member (`XAUTOCLAIM`).
    pub reclaim_after: Duration,
}

impl RedisConfig {
    /// Defaults for a Redis at `url`: no further login or TLS files, stream
    /// `tickmesh:events`, `MAXLEN ~ 1000000`, reclaim after 30 s.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            target: RedisTarget::Url(Secret::url(url)),
            username: None,
            password: None,
            sentinel_username: None,
            sentinel_password: None,
            sentinel_tls: false,
            tls: TlsFiles::default(),
            stream: "tickmesh:events".to_owned(),
            stream_maxlen: 1_000_000,
            reclaim_after: Duration::from_secs(30),
        }
    }

    /// A client for the master, asking the sentinels where it is when configured so.
    pub(crate) async fn client(&self) -> Result<redis::Client, BusError> {
        self.master().await?.0.client()
    }

    /// The master and, behind Sentinel, its `host:port`.
    pub(crate) async fn master(&self) -> Result<(Endpoint, Option<String>), BusError> {
        match &self.target {
            RedisTarget::Url(url) => Ok((
                Endpoint::from_url(
                    url,
                    &self.tls,
                    self.username.as_ref(),
                    self.password.as_ref(),
                )?,
                None,
            )),
            RedisTarget::Sentinel { sentinels, master } => {
                let addr = self.master_address(sentinels, master).await?;
                let endpoint = Endpoint::tcp(
                    &addr,
                    self.sentinel_tls.then(|| self.tls.clone()),
                    self.username.clone(),
                    self.password.clone(),
                )?;
                Ok((endpoint, Some(addr)))
            }
        }
    }

    /// A reconnecting connection for commands, and the master's address behind Sentinel.
    pub(crate) async fn connection_manager(
        &self,
    ) -> Result<(ConnectionManager, Option<String>), BusError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(10)))
            .set_number_of_retries(2);
        let (endpoint, address) = self.master().await?;
        let manager = endpoint
            .client()?
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| BusError::unavailable(BACKEND, format!("{}: {e}", endpoint.describe())))?;
        Ok((manager, address))
    }

    /// Asks each sentinel in turn for the master's `host:port`.
    async fn master_address(&self, sentinels: &[String], master: &str) -> Result<String, BusError> {
        let mut last = None;
        for sentinel in sentinels {
            let attempt = async {
                let endpoint = Endpoint::tcp(
                    sentinel,
                    self.sentinel_tls.then(|| self.tls.clone()),
                    self.sentinel_username.clone(),
                    self.sentinel_password.clone(),
                )?;
                let mut conn = endpoint
                    .client()?
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(unavailable)?;
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(master)
                    .query_async::<Option<(String, u16)>>(&mut conn)
                    .await
                    .map_err(unavailable)
            };
            match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(Some((host, port)))) => {
                    // An IPv6 address comes bare; bracket it so `host:port` splits again.
                    let host = if host.contains(':') {
                        format!("[{host}]")
                    } else {
                        host
                    };
                    return Ok(format!("{host}:{port}"));
                }
                Ok(Ok(None)) => last = Some(format!("{sentinel} does not know master {master:?}")),
                Ok(Err(e)) => last = Some(format!("{sentinel}: {e}")),
                Err(_) => last = Some(format!("{sentinel}: no answer in 5 s")),
            }
        }
        Err(BusError::unavailable(
            BACKEND,
            format!(
                "no sentinel gave the address of master {master:?} ({})",
                last.unwrap_or_else(|| "no sentinels configured".to_owned())
            ),
        ))
    }
}
