//! Where Redis is and how the stream is bounded.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tickmesh_bus::BusError;

use crate::{BACKEND, unavailable};

/// How to reach the Redis master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// A URL: `redis://host:6379/0`, `rediss://` for TLS.
    Url(String),
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
    /// The stream the publisher appends to (`tickmesh:events`).
    pub stream: String,
    /// Approximate bound of every stream (`XADD MAXLEN ~`): entries beyond it are trimmed
    /// oldest first, acknowledged or not, so size it to hold the longest bridge outage.
    pub stream_maxlen: usize,
    /// A pending entry idle this long is taken over by another group member (`XAUTOCLAIM`).
    pub reclaim_after: Duration,
}

impl RedisConfig {
    /// Defaults for a Redis at `url`: stream `tickmesh:events`, `MAXLEN ~ 1000000`, reclaim
    /// after 30 s.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            target: RedisTarget::Url(url.into()),
            stream: "tickmesh:events".to_owned(),
            stream_maxlen: 1_000_000,
            reclaim_after: Duration::from_secs(30),
        }
    }

    /// A client for the master, asking the sentinels where it is when configured so.
    pub(crate) async fn client(&self) -> Result<redis::Client, BusError> {
        Ok(self.locate().await?.0)
    }

    /// A client for the master and, behind Sentinel, the master's `host:port`.
    pub(crate) async fn locate(&self) -> Result<(redis::Client, Option<String>), BusError> {
        match &self.target {
            RedisTarget::Url(url) => redis::Client::open(url.as_str())
                .map(|client| (client, None))
                .map_err(|e| BusError::Rejected {
                    backend: BACKEND,
                    reason: format!("invalid redis url {url:?}: {e}"),
                }),
            RedisTarget::Sentinel { sentinels, master } => {
                let addr = master_address(sentinels, master).await?;
                let client = redis::Client::open(format!("redis://{addr}")).map_err(unavailable)?;
                Ok((client, Some(addr)))
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
        let (client, address) = self.locate().await?;
        let manager = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(unavailable)?;
        Ok((manager, address))
    }
}

/// Asks each sentinel in turn for the master's `host:port`.
async fn master_address(sentinels: &[String], master: &str) -> Result<String, BusError> {
    let mut last = None;
    for sentinel in sentinels {
        let attempt = async {
            let client = redis::Client::open(format!("redis://{sentinel}"))?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(master)
                .query_async::<Option<(String, u16)>>(&mut conn)
                .await
        };
        match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(Some((host, port)))) => return Ok(format!("{host}:{port}")),
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
