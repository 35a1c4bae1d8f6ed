//! The command connection, following the master through Sentinel failovers.
//!
//! [`ConnectionManager`] reconnects on its own, but always to the address it was built for.
//! Behind Sentinel that address may stop being the master: it goes away, or comes back as a
//! replica answering writes with `READONLY`. On such errors [`Commands`] asks the sentinels
//! again and, when the master moved, builds a connection to the new one; the failed command
//! is reported as unavailable and the caller's retry goes to the new master.

use std::sync::{Arc, Mutex, PoisonError};

use redis::aio::ConnectionManager;
use redis::{FromRedisValue, RedisError};
use tickmesh_bus::BusError;
use tracing::{info, warn};

use crate::config::{RedisConfig, RedisTarget};
use crate::unavailable;

/// A shared command connection to the current master.
#[derive(Clone)]
pub(crate) struct Commands {
    config: Arc<RedisConfig>,
    current: Arc<Mutex<Current>>,
    /// Held while asking the sentinels, so one error burst triggers one lookup.
    refreshing: Arc<tokio::sync::Mutex<()>>,
}

struct Current {
    manager: ConnectionManager,
    /// The master's `host:port` behind Sentinel; `None` for a plain URL.
    address: Option<String>,
}

impl Commands {
    /// Connects to the master (asking the sentinels where it is, if configured so) and checks
    /// with a `PING` that it answers, so a wrong password shows at start-up.
    pub(crate) async fn connect(config: &RedisConfig) -> Result<Commands, BusError> {
        let (mut manager, address) = config.connection_manager().await?;
        redis::cmd("PING")
            .query_async::<()>(&mut manager)
            .await
            .map_err(unavailable)?;
        Ok(Commands {
            config: Arc::new(config.clone()),
            current: Arc::new(Mutex::new(Current { manager, address })),
            refreshing: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    fn manager(&self) -> ConnectionManager {
        // The state is replaced whole, never left half-written, so a poisoned lock is usable.
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.manager.clone()
    }

    /// Runs a pipeline in one round trip.
    pub(crate) async fn pipeline<T: FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, BusError> {
        let mut conn = self.manager();
        match pipe.query_async(&mut conn).await {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failed(e).await),
        }
    }

    /// Looks for a moved master after errors that a failover causes, then reports `e`.
    pub(crate) async fn failed(&self, e: RedisError) -> BusError {
        let failover_symptom = e.is_io_error()
            || e.is_connection_refusal()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.code() == Some("READONLY");
        if failover_symptom && matches!(self.config.target, RedisTarget::Sentinel { .. }) {
            self.follow_master().await;
        }
        unavailable(e)
    }

    async fn follow_master(&self) {
        let Ok(_only_one) = self.refreshing.try_lock() else {
            return; // another task is already asking
        };
        let known = {
            let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            current.address.clone()
        };
        match self.config.connection_manager().await {
            Ok((manager, address)) if address != known => {
                info!(from = ?known, to = ?address, "redis master moved; following it");
                let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
                *current = Current { manager, address };
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "cannot reach the redis master through the sentinels yet"),
        }
    }
}
