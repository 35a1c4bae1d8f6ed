//! `orderbook_snapshots`: throttled whole books, one row per market and exchange time.

use sea_orm::entity::prelude::*;
use tickmesh_domain::{Level, OrderBook, parse_decimal};

use crate::StorageError;

/// A stored order book snapshot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orderbook_snapshots")]
pub struct Model {
    /// The market: its id in `markets`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub market_id: i32,
    /// Exchange time, epoch microseconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub exchange_time_us: i64,
    /// Receipt time, epoch microseconds.
    pub received_time_us: i64,
    /// Bids best first, JSON `[["price", "size"], ...]`.
    pub bids: String,
    /// Asks best first, in the same form.
    pub asks: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The domain order book this row stores.
    pub fn to_book(&self) -> Result<OrderBook, StorageError> {
        Ok(OrderBook {
            bids: levels_from_json("bids", &self.bids)?,
            asks: levels_from_json("asks", &self.asks)?,
        })
    }
}

/// Encodes levels as `[["price","size"],...]`. Decimal text is digits, `.` and `-` only, so
/// nothing needs escaping.
pub fn levels_to_json(levels: &[Level]) -> String {
    let mut out = String::with_capacity(2 + levels.len() * 32);
    out.push('[');
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("[\"{}\",\"{}\"]", level.price, level.size));
    }
    out.push(']');
    out
}

/// Decodes what [`levels_to_json`] wrote, exactly.
fn levels_from_json(column: &'static str, text: &str) -> Result<Vec<Level>, StorageError> {
    let invalid = |reason: String| StorageError::invalid_row("orderbook_snapshots", column, reason);
    let pairs: Vec<(String, String)> =
        serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    pairs
        .iter()
        .map(|(price, size)| {
            Ok(Level {
                price: parse_decimal(price).map_err(|e| invalid(e.to_string()))?,
                size: parse_decimal(size).map_err(|e| invalid(e.to_string()))?,
            })
        })
        .collect()
}
