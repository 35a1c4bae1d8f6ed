//! [`DbStore`]: subscriptions in the `subscriptions` table, on PostgreSQL or SQLite.
//!
//! Adding is one `INSERT .. ON CONFLICT (exchange, market) DO NOTHING RETURNING` (so the
//! database, not a read-then-write race, decides which pairs are new, also across processes)
//! followed by a read of the requested pairs for the creation times of those that existed.
//! Removing is one `DELETE .. RETURNING`. Both statements run the same on both backends.
//! The schema comes from `tickmesh-migrations`; this store does not create it.

use std::collections::{HashMap, HashSet};

use super::entity::{Column, Entity, Model};
use async_trait::async_trait;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic,
    QueryFilter,
};
use tickmesh_domain::{Exchange, Market, UtcMicros};

use super::{Added, StoreError, Subscription, SubscriptionStore, distinct};

/// Pairs per statement: 3 bind parameters each, far below both backends' limits.
const PAIRS_PER_STATEMENT: usize = 1_000;

/// A [`SubscriptionStore`] over a sea-orm connection (see the module docs).
#[derive(Debug, Clone)]
pub struct DbStore {
    db: DatabaseConnection,
}

impl DbStore {
    /// A store on `db`, whose schema is already migrated.
    pub fn new(db: DatabaseConnection) -> DbStore {
        DbStore { db }
    }

    /// The connection, for callers that share it.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Inserts the pairs of `chunk` that are new; returns those it inserted.
    async fn insert_new(
        &self,
        chunk: &[(Exchange, Market)],
        now: UtcMicros,
    ) -> Result<HashSet<(String, String)>, StoreError> {
        let backend = self.db.get_database_backend();
        let mut insert = Query::insert();
        insert
            .into_table(Entity)
            .columns([Column::Exchange, Column::Market, Column::CreatedAtUs]);
        for (exchange, market) in chunk {
            insert
                .values([
                    Expr::val(exchange.as_str()).into(),
                    Expr::val(market.to_string()).into(),
                    Expr::val(now.as_micros()).into(),
                ])
                .map_err(|e| sea_orm::DbErr::Custom(format!("malformed insert: {e}")))?;
        }
        insert
            .on_conflict(
                OnConflict::columns([Column::Exchange, Column::Market])
                    .do_nothing()
                    .to_owned(),
            )
            .returning(Query::returning().columns([Column::Exchange, Column::Market]));
        let mut inserted = HashSet::new();
        for row in self.db.query_all(backend.build(&insert)).await? {
            let exchange: String = row.try_get("", Column::Exchange.as_str())?;
            let market: String = row.try_get("", Column::Market.as_str())?;
            inserted.insert((exchange, market));
        }
        Ok(inserted)
    }

    /// The stored rows of the pairs in `chunk`, by pair.
    async fn stored(
        &self,
        chunk: &[(Exchange, Market)],
    ) -> Result<HashMap<(Exchange, Market), UtcMicros>, StoreError> {
        let wanted: HashSet<(Exchange, Market)> = chunk.iter().copied().collect();
        let exchanges: HashSet<&str> = chunk.iter().map(|(e, _)| e.as_str()).collect();
        let markets: HashSet<String> = chunk.iter().map(|(_, m)| m.to_string()).collect();
        let rows = Entity::find()
            .filter(Column::Exchange.is_in(exchanges))
            .filter(Column::Market.is_in(markets))
            .all(&self.db)
            .await?;
        let mut stored = HashMap::new();
        for row in rows {
            let s = to_subscription(&row)?;
            if wanted.contains(&s.key()) {
                stored.insert(s.key(), s.created);
            }
        }
        Ok(stored)
    }
}

/// Reads a row back into the domain.
fn to_subscription(row: &Model) -> Result<Subscription, StoreError> {
    let invalid = |column: &'static str, reason: String| StoreError::InvalidRow { column, reason };
    Ok(Subscription {
        exchange: row
            .exchange
            .parse()
            .map_err(|e: tickmesh_domain::UnknownExchange| invalid("exchange", e.to_string()))?,
        market: Market::parse(&row.market).map_err(|e| invalid("market", e.to_string()))?,
        created: UtcMicros(row.created_at_us),
    })
}

fn to_sorted(rows: &[Model]) -> Result<Vec<Subscription>, StoreError> {
    let mut subscriptions = rows
        .iter()
        .map(to_subscription)
        .collect::<Result<Vec<_>, _>>()?;
    subscriptions.sort();
    Ok(subscriptions)
}

#[async_trait]
impl SubscriptionStore for DbStore {
    async fn add(&self, pairs: &[(Exchange, Market)]) -> Result<Vec<Added>, StoreError> {
        let now = UtcMicros::now();
        let pairs = distinct(pairs);
        let mut added = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(PAIRS_PER_STATEMENT) {
            let inserted = self.insert_new(chunk, now).await?;
            let stored = self.stored(chunk).await?;
            for &(exchange, market) in chunk {
                let created =
                    inserted.contains(&(exchange.as_str().to_owned(), market.to_string()));
                // A pair this call inserted has its time even if a concurrent remove has
                // already deleted the row again; one that existed and was removed in between
                // is left out, as if the remove had come after this add.
                let time = match stored.get(&(exchange, market)) {
                    Some(time) => *time,
                    None if created => now,
                    None => continue,
                };
                added.push(Added {
                    subscription: Subscription {
                        exchange,
                        market,
                        created: time,
                    },
                    created,
                });
            }
        }
        Ok(added)
    }

    async fn remove(
        &self,
        exchange: Option<Exchange>,
        market: Market,
    ) -> Result<Vec<Subscription>, StoreError> {
        // Built by hand: sea-orm's `exec_with_returning` refuses SQLite unless a feature
        // flag is set, although every SQLite tickmesh bundles supports `RETURNING`.
        let backend = self.db.get_database_backend();
        let mut delete = Query::delete();
        delete
            .from_table(Entity)
            .and_where(Expr::col(Column::Market).eq(market.to_string()));
        if let Some(exchange) = exchange {
            delete.and_where(Expr::col(Column::Exchange).eq(exchange.as_str()));
        }
        delete.returning_all();
        let removed = self
            .db
            .query_all(backend.build(&delete))
            .await?
            .iter()
            .map(|row| Model::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?;
        to_sorted(&removed)
    }

    async fn list(&self, exchange: Option<Exchange>) -> Result<Vec<Subscription>, StoreError> {
        let mut select = Entity::find();
        if let Some(exchange) = exchange {
            select = select.filter(Column::Exchange.eq(exchange.as_str()));
        }
        // Sorted here, not by SQL: the domain orders exchanges upbit, bithumb, korbit, which
        // is not the alphabetical order of their stored names.
        to_sorted(&select.all(&self.db).await?)
    }
}
