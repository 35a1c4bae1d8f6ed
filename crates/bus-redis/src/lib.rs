//! The Redis adapter of the bus ports (docs/architecture.md):
//!
//! - live channels are Redis pub/sub (`PUBLISH`, `PSUBSCRIBE` on a dedicated connection that
//!   is re-established if it drops; pub/sub is lossy, so nothing is replayed);
//! - durable topics are Redis streams (`XADD` with approximate `MAXLEN` trimming), read by
//!   consumer groups (`XREADGROUP`, `XACK`), with entries left pending by a member that went
//!   away reclaimed by another after an idle time (`XAUTOCLAIM`);
//! - the [`EventPublisher`](tickmesh_bus::EventPublisher) writes a batch as one script
//!   (`publish`): each event's `XADD`, then its `PUBLISH` framed with the id the `XADD` gave
//!   ([`tickmesh_bus::position`]), checking lease fences in the same step when the events
//!   carry them (`lease`);
//! - the [`StreamHistory`](tickmesh_bus::StreamHistory) reads the stream back for stream
//!   clients that resume (`history`: `XRANGE`, and `XINFO STREAM` for what was trimmed).
//!
//! The hot paths, appends and publishes and each stream consumer's reads, go over connections
//! of their own with a lean RESP2 codec (`resp`, `direct`): parsing stream entries through
//! redis-rs was a large share of the bridge's CPU. Live subscriptions and `PUBLISH`es outside
//! the publisher go through [`redis::aio::ConnectionManager`], which reconnects on its own. A
//! Sentinel deployment is supported by asking the sentinels for the master's address at connect
//! and again after errors a failover causes ([`RedisTarget::Sentinel`], `conn`).
//!
//! Every connection, of either stack, to a sentinel or the master, logs in with the configured
//! ACL user and password and uses TLS when configured (`rediss://`, or
//! [`RedisConfig::sentinel_tls`]), trusting [`RedisConfig::tls`]'s CA or the system's roots.

mod config;
mod conn;
mod direct;
mod endpoint;
mod history;
mod lease;
mod live;
mod publish;
mod reply;
mod resp;
mod stream;
mod tls;
mod trimmed;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tickmesh_bus::{BusError, EventPublisher, Outgoing, Published, Record};

pub use config::{RedisConfig, RedisTarget};
use conn::Commands;
use direct::{DirectConn, REPLY_TIMEOUT};
pub use lease::RedisLeases;
use resp::Pipeline;
pub use tickmesh_secret::Secret;
pub use tls::TlsFiles;

const BACKEND: &str = "redis";

fn unavailable(e: redis::RedisError) -> BusError {
    BusError::unavailable(BACKEND, e)
}

/// The bus on Redis: live channels, durable streams and the publisher over both.
#[derive(Clone)]
pub struct RedisBus {
    config: RedisConfig,
    commands: Commands,
    /// Appends and publishes: one pipeline in flight at a time, written and read with the
    /// lean codec. Callers sharing the bus take turns.
    writer: Arc<tokio::sync::Mutex<DirectConn>>,
    /// Replay reads of stream clients that resume, beside the writer.
    history: Arc<tokio::sync::Mutex<DirectConn>>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// Connects (resolving the master through the sentinels if configured).
    pub async fn connect(config: RedisConfig) -> Result<RedisBus, BusError> {
        let commands = Commands::connect(&config).await?;
        let writer = DirectConn::lazy(&config, "tickmesh-writer".to_owned());
        let history = DirectConn::lazy(&config, "tickmesh-history".to_owned());
        Ok(RedisBus {
            config,
            commands,
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            history: Arc::new(tokio::sync::Mutex::new(history)),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// Sends a pipeline in one round trip, ignoring the replies.
    async fn run(&self, pipeline: &Pipeline) -> Result<(), BusError> {
        let mut writer = self.writer.lock().await;
        Ok(writer.run(pipeline, REPLY_TIMEOUT).await?)
    }

    /// `XADD` of one record to `stream` with the configured approximate bound.
    fn queue_xadd(&self, pipeline: &mut Pipeline, stream: &str, record: &Record) {
        pipeline
            .command(10 + 2 * record.headers.len())
            .arg("XADD")
            .arg(stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(itoa::Buffer::new().format(self.config.stream_maxlen))
            .arg("*");
        stream::record_fields(pipeline, record);
    }
}

#[async_trait]
impl EventPublisher for RedisBus {
    async fn publish(&self, batch: &[Outgoing]) -> Result<Published, BusError> {
        if batch.is_empty() {
            return Ok(Published::default());
        }
        // One script for every batch, fenced or not: the live message must carry the id the
        // `XADD` gave, which a pipeline cannot pass from one command to the next.
        let keys = lease::LeaseKeys::new(&self.config.stream);
        let (stream, maxlen) = (&self.config.stream, self.config.stream_maxlen);
        let request = publish::command(&keys, stream, maxlen, batch, publish::Call::ByHash);
        let mut writer = self.writer.lock().await;
        let reply = match writer.query(&request, REPLY_TIMEOUT).await {
            Err(e) if publish::script_missing(e.code()) => {
                let request =
                    publish::command(&keys, stream, maxlen, batch, publish::Call::WithText);
                writer.query(&request, REPLY_TIMEOUT).await?
            }
            reply => reply?,
        };
        Ok(Published {
            fenced_off: publish::fenced_off(&reply)?,
        })
    }
}

/// How long a blocking read may take beyond its own timeout before the connection is
/// considered dead.
const READ_SLACK: Duration = Duration::from_secs(5);
