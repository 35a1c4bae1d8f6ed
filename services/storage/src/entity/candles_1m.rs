//! `candles_1m`: one-minute candles, one row per market and minute.

use sea_orm::entity::prelude::*;

use crate::decimal::StoredDecimal;

/// A stored one-minute candle.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "candles_1m")]
pub struct Model {
    /// The market: its id in `markets`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub market_id: i32,
    /// Start of the minute, epoch microseconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub open_time_us: i64,
    /// Price of the earliest trade.
    pub open: StoredDecimal,
    /// Highest price.
    pub high: StoredDecimal,
    /// Lowest price.
    pub low: StoredDecimal,
    /// Price of the latest trade.
    pub close: StoredDecimal,
    /// Base volume.
    pub volume: StoredDecimal,
    /// Quote turnover.
    pub quote_volume: StoredDecimal,
    /// Number of trades.
    pub trade_count: i64,
    /// Exchange time of the earliest trade.
    pub first_trade_time_us: i64,
    /// Id of the earliest trade.
    pub first_trade_id: i64,
    /// Exchange time of the latest trade.
    pub last_trade_time_us: i64,
    /// Id of the latest trade.
    pub last_trade_id: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The domain candle this row stores.
    pub fn to_candle(&self) -> Result<tickmesh_domain::Candle, crate::StorageError> {
        use tickmesh_domain::UtcMicros;
        let id = |column, value| super::parse_trade_id("candles_1m", column, value);
        let trade_count = u64::try_from(self.trade_count).map_err(|_| {
            crate::StorageError::invalid_row(
                "candles_1m",
                "trade_count",
                format!("negative count {}", self.trade_count),
            )
        })?;
        Ok(tickmesh_domain::Candle {
            open_time: UtcMicros(self.open_time_us),
            open: self.open.0,
            high: self.high.0,
            low: self.low.0,
            close: self.close.0,
            volume: self.volume.0,
            quote_volume: self.quote_volume.0,
            trade_count,
            first_trade: (
                UtcMicros(self.first_trade_time_us),
                id("first_trade_id", self.first_trade_id)?,
            ),
            last_trade: (
                UtcMicros(self.last_trade_time_us),
                id("last_trade_id", self.last_trade_id)?,
            ),
        })
    }
}
