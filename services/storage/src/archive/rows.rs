//! The rows [`archived_events`](super::archived_events) reads: one table's page of a position
//! range ([`Page`]), and the events the rows store, named through `markets`
//! ([`MarketNames`]).

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, QueryFilter, QueryOrder, QuerySelect,
};
use tickmesh_bus::Position;
use tickmesh_domain::{Exchange, Market, MarketEvent, Payload, UtcMicros};

use crate::StorageError;
use crate::entity::{markets, parse_exchange, parse_market, select_exact, tickers, trades};

/// An event with its position, after the packed position it is merged by.
pub(super) type Keyed = (i64, (Position, MarketEvent));

/// A row of a table that keeps stream positions.
pub(super) trait Archived: Sized {
    /// Its table.
    type Entity: EntityTrait<Model = Self>;
    /// The table's name, for errors.
    const TABLE: &'static str;
    /// The table's position, market id and exchange time columns.
    const COLUMNS: [<Self::Entity as EntityTrait>::Column; 3];
    /// The packed position, market id, exchange and receipt times.
    fn key(&self) -> (Option<i64>, i32, i64, i64);
    /// What the row stores.
    fn payload(&self) -> Result<Payload, StorageError>;
}

impl Archived for trades::Model {
    type Entity = trades::Entity;
    const TABLE: &'static str = "trades";
    const COLUMNS: [trades::Column; 3] = [
        trades::Column::Position,
        trades::Column::MarketId,
        trades::Column::ExchangeTimeUs,
    ];
    fn key(&self) -> (Option<i64>, i32, i64, i64) {
        let times = (self.exchange_time_us, self.received_time_us);
        (self.position, self.market_id, times.0, times.1)
    }
    fn payload(&self) -> Result<Payload, StorageError> {
        self.to_trade().map(Payload::Trade)
    }
}

impl Archived for tickers::Model {
    type Entity = tickers::Entity;
    const TABLE: &'static str = "tickers";
    const COLUMNS: [tickers::Column; 3] = [
        tickers::Column::Position,
        tickers::Column::MarketId,
        tickers::Column::ExchangeTimeUs,
    ];
    fn key(&self) -> (Option<i64>, i32, i64, i64) {
        let times = (self.exchange_time_us, self.received_time_us);
        (self.position, self.market_id, times.0, times.1)
    }
    fn payload(&self) -> Result<Payload, StorageError> {
        Ok(Payload::Ticker(self.to_ticker()))
    }
}

/// One table's share of a call: the rows of the range that pass the filters, by position.
#[derive(Debug, Clone, Copy)]
pub(super) struct Page<'a> {
    /// Packed positions, after (exclusive) and through (inclusive).
    pub range: (i64, i64),
    /// Only rows of these market ids, when set.
    pub only: Option<&'a [i32]>,
    /// Only rows whose exchange time is at or after this, when set.
    pub since: Option<UtcMicros>,
    /// The most rows.
    pub limit: u64,
}

impl Page<'_> {
    /// The page's rows of `R`'s table, by position.
    pub(super) async fn read<R: Archived, C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<Vec<R>, StorageError> {
        let [position, market, time] = R::COLUMNS;
        let mut select = select_exact::<R::Entity>()
            .filter(position.gt(self.range.0))
            .filter(position.lte(self.range.1));
        if let Some(ids) = self.only {
            // The unary `+` makes the market test a filter on the rows the position index
            // walk meets: as a plain column test the databases (SQLite without statistics
            // above all) may pick the primary key for it and sort the market's whole history.
            let market = SimpleExpr::Custom(format!("+\"{}\"", market.as_str()));
            select = select.filter(Expr::expr(market).is_in(ids.iter().copied()));
        }
        if let Some(since) = self.since {
            select = select.filter(time.gte(since.as_micros()));
        }
        let rows = select
            .order_by_asc(position)
            .limit(self.limit)
            .all(db)
            .await?;
        Ok(rows)
    }
}

/// The (exchange, market) pair of each market id met so far.
#[derive(Debug, Default)]
pub(super) struct MarketNames(HashMap<i32, (Exchange, Market)>);

impl MarketNames {
    /// The ids of the pairs on one of `exchanges` (any, when empty) and of one of `markets`
    /// (any, when empty), learning their names.
    pub(super) async fn matching<C: ConnectionTrait>(
        &mut self,
        db: &C,
        exchanges: &[Exchange],
        markets: &[Market],
    ) -> Result<Vec<i32>, StorageError> {
        let mut select = markets::Entity::find();
        if !exchanges.is_empty() {
            select = select
                .filter(markets::Column::Exchange.is_in(exchanges.iter().map(|e| e.as_str())));
        }
        if !markets.is_empty() {
            select =
                select.filter(markets::Column::Market.is_in(markets.iter().map(|m| m.to_string())));
        }
        let rows = select.all(db).await?;
        let ids = rows.iter().map(|row| row.id).collect();
        self.remember(&rows)?;
        Ok(ids)
    }

    /// Learns the names of the ids in `ids` not met so far.
    pub(super) async fn learn<C: ConnectionTrait>(
        &mut self,
        db: &C,
        ids: impl IntoIterator<Item = i32>,
    ) -> Result<(), StorageError> {
        let missing: HashSet<i32> = ids
            .into_iter()
            .filter(|id| !self.0.contains_key(id))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let rows = markets::Entity::find()
            .filter(markets::Column::Id.is_in(missing))
            .all(db)
            .await?;
        self.remember(&rows)
    }

    /// Learns the names `rows` give.
    fn remember(&mut self, rows: &[markets::Model]) -> Result<(), StorageError> {
        for row in rows {
            let pair = (
                parse_exchange("markets", &row.exchange)?,
                parse_market("markets", &row.market)?,
            );
            self.0.insert(row.id, pair);
        }
        Ok(())
    }

    /// The events `rows` store, each with its position, keyed by the packed position.
    pub(super) fn events<R: Archived>(&self, rows: &[R]) -> Result<Vec<Keyed>, StorageError> {
        rows.iter().map(|row| self.event(row)).collect()
    }

    fn event<R: Archived>(&self, row: &R) -> Result<Keyed, StorageError> {
        let table = R::TABLE;
        let (packed, market_id, exchange_time, received_time) = row.key();
        // The read asked for positions in a range, so a row without one is not among them.
        let packed =
            packed.ok_or_else(|| StorageError::invalid_row(table, "position", "missing"))?;
        let position = Position::from_packed(packed).ok_or_else(|| {
            StorageError::invalid_row(table, "position", format!("negative position {packed}"))
        })?;
        let &(exchange, market) = self.0.get(&market_id).ok_or_else(|| {
            StorageError::invalid_row(table, "market_id", format!("{market_id} is not in markets"))
        })?;
        let event = MarketEvent {
            exchange,
            market,
            exchange_time: UtcMicros(exchange_time),
            received_time: UtcMicros(received_time),
            payload: row.payload()?,
            raw: None,
        };
        Ok((packed, (position, event)))
    }
}
