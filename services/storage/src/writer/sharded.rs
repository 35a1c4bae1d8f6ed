//! Several writers in parallel: a batch is split by market across [`MarketStore`]s, each
//! writing its share in its own transaction on its own connection.
//!
//! One market always goes to the same writer, so its rows keep their order, its order-book
//! throttle state lives in one place, and two writers never write the same candle. A batch
//! is acknowledged only after every share committed; when one fails, the whole batch is
//! written again, which the idempotent writer absorbs (shares that had committed change
//! nothing the second time).
//!
//! SQLite admits one writer at a time, so there it is always one writer.

use std::hash::{DefaultHasher, Hash, Hasher};

use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend};
use tickmesh_domain::{Exchange, Market, MarketEvent};

use super::{BookThrottle, MarketStore, Positioned, StoreConfig, WriteSummary};
use crate::StorageError;

/// Market stores writing disjoint sets of markets concurrently.
#[derive(Debug)]
pub struct ShardedStore {
    shards: Vec<MarketStore>,
    /// The throttle every shard publishes to.
    book_throttle: BookThrottle,
}

impl From<MarketStore> for ShardedStore {
    fn from(store: MarketStore) -> ShardedStore {
        ShardedStore {
            book_throttle: store.book_throttle().clone(),
            shards: vec![store],
        }
    }
}

impl ShardedStore {
    /// `writers` concurrent writers on `db` (one on SQLite, at least one anywhere).
    pub fn new(db: DatabaseConnection, config: StoreConfig, writers: usize) -> ShardedStore {
        let writers = if db.get_database_backend() == DbBackend::Sqlite {
            1
        } else {
            writers.max(1)
        };
        let throttle = BookThrottle::new(super::book_interval_us(&config));
        ShardedStore {
            shards: (0..writers)
                .map(|_| MarketStore::sharing(db.clone(), config.clone(), throttle.clone()))
                .collect(),
            book_throttle: throttle,
        }
    }

    /// How the writers store.
    pub fn config(&self) -> &StoreConfig {
        self.shards[0].config()
    }

    /// The database the writers write to.
    pub fn db(&self) -> &DatabaseConnection {
        self.shards[0].db()
    }

    /// How many writers there are.
    pub fn writers(&self) -> usize {
        self.shards.len()
    }

    /// Splits `events` into one group per writer, keeping each market's events in order.
    pub fn split<'a>(
        &self,
        events: impl IntoIterator<Item = Positioned<'a>>,
    ) -> Vec<Vec<Positioned<'a>>> {
        if self.shards.len() == 1 {
            return vec![events.into_iter().collect()];
        }
        let mut groups: Vec<Vec<Positioned<'a>>> = self.shards.iter().map(|_| Vec::new()).collect();
        for positioned in events {
            let event: &MarketEvent = positioned.event;
            let index = self.shard_of(event.exchange, event.market);
            if let Some(group) = groups.get_mut(index) {
                group.push(positioned);
            }
        }
        groups
    }

    /// The throttle every writer publishes its committed order-book snapshots to, for
    /// deciding which books need no decoding while the writers write.
    pub fn book_throttle(&self) -> &BookThrottle {
        &self.book_throttle
    }

    /// The writer of a market.
    fn shard_of(&self, exchange: Exchange, market: Market) -> usize {
        if self.shards.len() == 1 {
            return 0;
        }
        let mut hasher = DefaultHasher::new();
        (exchange, market).hash(&mut hasher);
        usize::try_from(hasher.finish() % self.shards.len() as u64).unwrap_or(0)
    }

    /// Writes each group (from [`ShardedStore::split`]) with its writer, all at once.
    pub async fn write(
        &mut self,
        groups: &[Vec<Positioned<'_>>],
    ) -> Result<WriteSummary, StorageError> {
        let writes = self
            .shards
            .iter_mut()
            .zip(groups)
            .filter(|(_, group)| !group.is_empty())
            .map(|(store, group)| store.write_positioned(group));
        let mut total = WriteSummary::default();
        for result in futures::future::join_all(writes).await {
            total.add(&result?);
        }
        Ok(total)
    }
}
