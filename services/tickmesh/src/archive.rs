//! The event archive stream clients replay from when the stream no longer holds what they
//! ask for: storage's trades and tickers, read by stream position.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use tickmesh_bus::Position;
use tickmesh_domain::MarketEvent;
use tickmesh_subscription::stream::{ArchiveError, ArchiveQuery, EventArchive};

/// Storage's tables as the subscription service's [`EventArchive`].
#[derive(Debug, Clone)]
pub struct StoredEvents {
    db: DatabaseConnection,
}

impl StoredEvents {
    /// Reads through `db` (storage's history read pool, whose statement timeout bounds a read).
    pub fn new(db: DatabaseConnection) -> StoredEvents {
        StoredEvents { db }
    }
}

#[async_trait]
impl EventArchive for StoredEvents {
    async fn events(
        &self,
        query: &ArchiveQuery,
    ) -> Result<Vec<(Position, MarketEvent)>, ArchiveError> {
        let filter = &query.filter;
        let stored = tickmesh_storage::ArchiveQuery {
            exchanges: filter.exchanges.iter().copied().collect(),
            markets: filter.markets.iter().copied().collect(),
            kinds: filter.kinds.iter().copied().collect(),
            after: query.after,
            through: query.through,
            since: query.since,
            limit: query.limit,
        };
        tickmesh_storage::archived_events(&self.db, &stored)
            .await
            .map_err(|e| ArchiveError(Box::new(e)))
    }

    async fn stored_through(&self) -> Result<Option<Position>, ArchiveError> {
        let mut highest = None;
        for table in ["trades", "tickers"] {
            let row = self
                .db
                .query_one(Statement::from_string(
                    self.db.get_database_backend(),
                    format!("select max(position) as p from {table}"),
                ))
                .await
                .map_err(|e| ArchiveError(Box::new(e)))?;
            let packed: Option<i64> = match row {
                Some(row) => row
                    .try_get("", "p")
                    .map_err(|e| ArchiveError(Box::new(e)))?,
                None => None,
            };
            highest = highest.max(packed.and_then(Position::from_packed));
        }
        Ok(highest)
    }

    /// What storage's retention removed from trades and tickers, as it recorded when it
    /// removed them (`retention_marks`).
    async fn dropped_through(&self) -> Result<Option<Position>, ArchiveError> {
        let packed = tickmesh_storage::dropped_through(&self.db)
            .await
            .map_err(|e| ArchiveError(Box::new(e)))?;
        Ok(packed.and_then(Position::from_packed))
    }
}

#[cfg(test)]
mod tests;
