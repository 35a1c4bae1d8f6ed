//! [`MemoryStore`]: subscriptions in process memory, lost when the process ends.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use tickmesh_domain::{Exchange, Market, UtcMicros};

use super::{Added, StoreError, Subscription, SubscriptionStore, distinct};

/// An in-process [`SubscriptionStore`]; never fails.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Creation time per pair; the map's order is the listing order.
    rows: Mutex<BTreeMap<(Exchange, Market), UtcMicros>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The rows. A panic while the lock was held cannot leave the map half-updated (every
    /// change is one insert or remove), so a poisoned lock is safe to keep using.
    fn rows(&self) -> MutexGuard<'_, BTreeMap<(Exchange, Market), UtcMicros>> {
        self.rows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn subscription(((exchange, market), created): (&(Exchange, Market), &UtcMicros)) -> Subscription {
    Subscription {
        exchange: *exchange,
        market: *market,
        created: *created,
    }
}

#[async_trait]
impl SubscriptionStore for MemoryStore {
    async fn add(&self, pairs: &[(Exchange, Market)]) -> Result<Vec<Added>, StoreError> {
        let now = UtcMicros::now();
        let mut rows = self.rows();
        Ok(distinct(pairs)
            .into_iter()
            .map(|(exchange, market)| {
                let mut created = false;
                let time = *rows.entry((exchange, market)).or_insert_with(|| {
                    created = true;
                    now
                });
                Added {
                    subscription: Subscription {
                        exchange,
                        market,
                        created: time,
                    },
                    created,
                }
            })
            .collect())
    }

    async fn remove(
        &self,
        exchange: Option<Exchange>,
        market: Market,
    ) -> Result<Vec<Subscription>, StoreError> {
        let mut rows = self.rows();
        let mut removed = Vec::new();
        for candidate in exchange.map_or(Exchange::ALL.to_vec(), |e| vec![e]) {
            if let Some(created) = rows.remove(&(candidate, market)) {
                removed.push(Subscription {
                    exchange: candidate,
                    market,
                    created,
                });
            }
        }
        removed.sort();
        Ok(removed)
    }

    async fn list(&self, exchange: Option<Exchange>) -> Result<Vec<Subscription>, StoreError> {
        Ok(self
            .rows()
            .iter()
            .filter(|((e, _), _)| exchange.is_none_or(|wanted| *e == wanted))
            .map(subscription)
            .collect())
    }
}
