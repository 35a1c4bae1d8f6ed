//! The Redis adapter of the bus ports (DESIGN section 4):
//!
//! - live channels are Redis pub/sub (`PUBLISH`, `PSUBSCRIBE` on a dedicated connection that
//!   is re-established if it drops; pub/sub is lossy, so nothing is replayed);
//! - durable topics are Redis streams (`XADD` with approximate `MAXLEN` trimming), read by
//!   consumer groups (`XREADGROUP`, `XACK`), with entries left pending by a member that went
//!   away reclaimed by another after an idle time (`XAUTOCLAIM`);
//! - the [`EventPublisher`](tickmesh_bus::EventPublisher) writes a batch's `PUBLISH`es and
//!   `XADD`s in one pipelined round trip.
//!
//! Commands go through [`redis::aio::ConnectionManager`], which reconnects on its own, except
//! a stream consumer's: it has a connection of its own and reads its replies with a lean
//! RESP2 codec (`resp`, `stream_conn`), since parsing stream entries through redis-rs was a
//! quarter of the bridge's CPU. A Sentinel deployment is supported by asking the sentinels for the master's address at
//! connect and again after errors a failover causes ([`RedisTarget::Sentinel`], `conn`).

mod config;
mod conn;
mod live;
mod reply;
mod resp;
mod stream;
mod stream_conn;

use std::time::Duration;

use async_trait::async_trait;
use tickmesh_bus::{BusError, EventPublisher, Outgoing};

pub use config::{RedisConfig, RedisTarget};
use conn::Commands;

const BACKEND: &str = "redis";

fn unavailable(e: redis::RedisError) -> BusError {
    BusError::unavailable(BACKEND, e)
}

/// The bus on Redis: live channels, durable streams and the publisher over both.
#[derive(Clone)]
pub struct RedisBus {
    config: RedisConfig,
    commands: Commands,
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
        Ok(RedisBus { config, commands })
    }

    /// The configuration in use.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// Sends a pipeline in one round trip, ignoring the replies.
    async fn run(&self, pipe: &redis::Pipeline) -> Result<(), BusError> {
        self.commands.pipeline::<()>(pipe).await
    }

    /// `XADD` of one record to `stream` with the configured approximate bound, queued on `pipe`.
    fn queue_xadd(&self, pipe: &mut redis::Pipeline, stream: &str, record: &tickmesh_bus::Record) {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.config.stream_maxlen)
            .arg("*");
        stream::record_fields(&mut cmd, record);
        pipe.add_command(cmd);
    }
}

#[async_trait]
impl EventPublisher for RedisBus {
    async fn publish(&self, batch: &[Outgoing]) -> Result<(), BusError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for out in batch {
            queue_publish(&mut pipe, &out.channel, &out.record.payload);
            self.queue_xadd(&mut pipe, &self.config.stream, &out.record);
            pipe.ignore();
        }
        self.run(&pipe).await
    }
}

/// `PUBLISH` of one live message, queued on `pipe` with its reply ignored.
fn queue_publish(pipe: &mut redis::Pipeline, channel: &str, payload: &[u8]) {
    pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
}

/// How long a blocking read may take beyond its own timeout before the connection is
/// considered dead.
const READ_SLACK: Duration = Duration::from_secs(5);
