//! `tickers`: one row per market and exchange time.

use sea_orm::entity::prelude::*;

use crate::decimal::StoredDecimal;

/// A stored ticker update; fields the exchange did not send are `None`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickers")]
pub struct Model {
    /// The market: its id in `markets`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub market_id: i32,
    /// Exchange time, epoch microseconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub exchange_time_us: i64,
    /// Receipt time, epoch microseconds.
    pub received_time_us: i64,
    /// Last traded price.
    pub last: StoredDecimal,
    /// Opening price of the exchange's window.
    pub open: Option<StoredDecimal>,
    /// Highest price of the window.
    pub high: Option<StoredDecimal>,
    /// Lowest price of the window.
    pub low: Option<StoredDecimal>,
    /// Previous close.
    pub prev_close: Option<StoredDecimal>,
    /// Base volume over 24 hours.
    pub volume_24h: Option<StoredDecimal>,
    /// Quote turnover over 24 hours.
    pub quote_volume_24h: Option<StoredDecimal>,
    /// Best bid.
    pub best_bid: Option<StoredDecimal>,
    /// Best ask.
    pub best_ask: Option<StoredDecimal>,
    /// Position in the durable stream, packed (`tickmesh_bus::Position::packed`); `None` for
    /// rows stored before positions were kept or from records without one.
    pub position: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The domain ticker this row stores.
    pub fn to_ticker(&self) -> tickmesh_domain::Ticker {
        let d = |value: Option<StoredDecimal>| value.map(|v| v.0);
        tickmesh_domain::Ticker {
            last: self.last.0,
            open: d(self.open),
            high: d(self.high),
            low: d(self.low),
            prev_close: d(self.prev_close),
            volume_24h: d(self.volume_24h),
            quote_volume_24h: d(self.quote_volume_24h),
            best_bid: d(self.best_bid),
            best_ask: d(self.best_ask),
        }
    }
}
