//! [`MarketIds`]: the id in `markets` of every (exchange, market) pair a writer has seen.
//!
//! The market-data tables are keyed on a small integer market id (migration 7 of
//! `tickmesh-migrations` says why). A pair gets its id the first time any writer stores it,
//! and an id is never reassigned, so each writer caches what it learnt for as long as it runs
//! and asks the database only about pairs it has not seen: in steady state, never.

use std::collections::BTreeSet;

use foldhash::HashMap;

use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use tickmesh_domain::{Exchange, Market, MarketEvent};

use super::rows::{row_error, rows_per_statement};
use crate::StorageError;
use crate::entity::{markets, parse_exchange, parse_market};

/// Market ids by pair, and pairs by id. Looked up for every row a writer stores, so hashed with
/// foldhash (randomly seeded per process, as std's SipHash, at a fraction of its cost).
#[derive(Debug, Default)]
pub(super) struct MarketIds {
    ids: HashMap<(Exchange, Market), i32>,
    pairs: HashMap<i32, (Exchange, Market)>,
}

impl MarketIds {
    /// Makes sure every market of `events` has a known id: stores the pairs `markets` lacks
    /// (`ON CONFLICT DO NOTHING`, so writers racing on a new pair agree on one id) and reads
    /// back the ids of all pairs not cached yet.
    ///
    /// Runs outside the batch's transaction: a pair registered for a batch that then fails
    /// stays registered, which is harmless, as the batch will be retried.
    pub(super) async fn resolve<'e, C: ConnectionTrait>(
        &mut self,
        db: &C,
        events: impl IntoIterator<Item = &'e MarketEvent>,
    ) -> Result<(), StorageError> {
        let missing: BTreeSet<(Exchange, Market)> = events
            .into_iter()
            .map(|e| (e.exchange, e.market))
            .filter(|pair| !self.ids.contains_key(pair))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let missing: Vec<(Exchange, Market)> = missing.into_iter().collect();
        let backend = db.get_database_backend();
        use markets::Column as C;
        for chunk in missing.chunks(rows_per_statement(2)) {
            let mut insert = Query::insert();
            insert
                .into_table(markets::Entity)
                .columns([C::Exchange, C::Market]);
            for (exchange, market) in chunk {
                let row: [SimpleExpr; 2] = [
                    Expr::val(exchange.as_str()).into(),
                    Expr::val(market.to_string()).into(),
                ];
                insert.values(row).map_err(row_error)?;
            }
            insert.on_conflict(
                OnConflict::columns([C::Exchange, C::Market])
                    .do_nothing()
                    .to_owned(),
            );
            db.execute(backend.build(&insert)).await?;

            let mut any = Condition::any();
            for (exchange, market) in chunk {
                any = any.add(
                    Condition::all()
                        .add(C::Exchange.eq(exchange.as_str()))
                        .add(C::Market.eq(market.to_string())),
                );
            }
            for row in markets::Entity::find().filter(any).all(db).await? {
                let pair = (
                    parse_exchange("markets", &row.exchange)?,
                    parse_market("markets", &row.market)?,
                );
                self.ids.insert(pair, row.id);
                self.pairs.insert(row.id, pair);
            }
        }
        match missing.iter().find(|pair| !self.ids.contains_key(pair)) {
            Some(pair) => Err(unknown(*pair)),
            None => Ok(()),
        }
    }

    /// The id of a pair [`MarketIds::resolve`] has seen.
    pub(super) fn id(&self, exchange: Exchange, market: Market) -> Result<i32, StorageError> {
        self.ids
            .get(&(exchange, market))
            .copied()
            .ok_or_else(|| unknown((exchange, market)))
    }

    /// The pair of an id [`MarketIds::resolve`] has seen.
    pub(super) fn pair(&self, id: i32) -> Option<(Exchange, Market)> {
        self.pairs.get(&id).copied()
    }
}

/// A pair without an id: `markets` lost a row it had just been given, or the caller skipped
/// [`MarketIds::resolve`].
fn unknown((exchange, market): (Exchange, Market)) -> StorageError {
    StorageError::Db(DbErr::Custom(format!(
        "market {exchange} {market} has no id in the markets table"
    )))
}
