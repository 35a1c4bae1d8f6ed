//! Which order books the writers are certain to throttle, readable while they write.
//!
//! The consumer decodes the next batch while the current one is written, and skips decoding
//! the books the throttle is certain to drop (most of them, at high rates). It asks a
//! [`BookThrottle`] the writers share: each writer publishes the time of a market's last
//! snapshot once it is committed. Reading it mid-write is safe: the answer can only be older
//! than the writer's own, so it is certain of fewer books, never of a book that would be kept.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tickmesh_domain::{Exchange, Market, UtcMicros};

/// The exchange time of each market's last committed order-book snapshot, shared by the
/// writers of one store and whoever holds a clone.
#[derive(Debug, Clone)]
pub struct BookThrottle {
    committed: Arc<RwLock<HashMap<(Exchange, Market), UtcMicros>>>,
    interval_us: i64,
}

impl BookThrottle {
    /// An empty throttle keeping one snapshot per `interval_us` of exchange time.
    pub(super) fn new(interval_us: i64) -> BookThrottle {
        BookThrottle {
            committed: Arc::default(),
            interval_us,
        }
    }

    /// Whether a book of this market at `exchange_time` is certain to be throttled: it comes
    /// less than the interval after the last committed snapshot. A market with no committed
    /// snapshot never is.
    pub fn certain(&self, exchange: Exchange, market: Market, exchange_time: UtcMicros) -> bool {
        // A writer that panicked while publishing left whole entries behind: still valid.
        let committed = self
            .committed
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        committed
            .get(&(exchange, market))
            .is_some_and(|last| exchange_time < last.add_micros(self.interval_us))
    }

    /// Publishes the snapshots of a committed batch.
    pub(super) fn committed(
        &self,
        snapshots: impl IntoIterator<Item = ((Exchange, Market), UtcMicros)>,
    ) {
        let mut committed = self
            .committed
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        committed.extend(snapshots);
    }
}
