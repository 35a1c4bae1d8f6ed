//! `trades`: one row per market, exchange time and trade id.

use sea_orm::entity::prelude::*;

use crate::decimal::StoredDecimal;

/// A stored trade.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trades")]
pub struct Model {
    /// The market: its id in `markets`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub market_id: i32,
    /// Exchange trade id (a `u64` no larger than `i64::MAX`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub trade_id: i64,
    /// Execution price.
    pub price: StoredDecimal,
    /// Executed size.
    pub size: StoredDecimal,
    /// Taker side, `b` (buy) or `s` (sell): a one-byte `"char"` on PostgreSQL, read through
    /// [`select_exact`](super::select_exact), which casts it to text.
    #[sea_orm(column_type = "Char(Some(1))")]
    pub side: String,
    /// Exchange time, epoch microseconds (part of the key: the partition key on PostgreSQL).
    #[sea_orm(primary_key, auto_increment = false)]
    pub exchange_time_us: i64,
    /// Receipt time, epoch microseconds.
    pub received_time_us: i64,
    /// Position in the durable stream, packed (`tickmesh_bus::Position::packed`); `None` for
    /// rows stored before positions were kept or from records without one.
    pub position: Option<i64>,
}

/// No relations declared: queries reach `markets` through [`super::of_market`].
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The domain trade this row stores.
    pub fn to_trade(&self) -> Result<tickmesh_domain::Trade, crate::StorageError> {
        use tickmesh_domain::Side;
        // PostgreSQL's "char" keeps the first byte of a `buy` or `sell` written by hand; on
        // SQLite such a row keeps the whole word, which reads the same.
        let side = match self.side.as_str() {
            "b" | "buy" => Side::Buy,
            "s" | "sell" => Side::Sell,
            other => {
                return Err(crate::StorageError::invalid_row(
                    "trades",
                    "side",
                    format!("expected b or s, got {other:?}"),
                ));
            }
        };
        Ok(tickmesh_domain::Trade {
            trade_id: super::parse_trade_id("trades", "trade_id", self.trade_id)?,
            price: self.price.0,
            size: self.size.0,
            side,
        })
    }
}
