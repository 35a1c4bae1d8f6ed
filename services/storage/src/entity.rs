//! sea-orm entities, one module per table the migrations create.
//!
//! Decimal columns are [`StoredDecimal`](crate::decimal::StoredDecimal); read them through
//! [`select_exact`], which casts them to text so PostgreSQL hands back the exact digits and
//! scale. The market-data tables key rows on a market id; [`markets`] maps it to the exchange
//! and market as their canonical text (`upbit`, `BTC/KRW`), and [`of_market`] selects a pair's
//! rows by its codes.

pub mod candles_1m;
pub mod markets;
pub mod orderbook_snapshots;
pub mod tickers;
pub mod trades;

use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ColumnType, EntityTrait, IdenStatic, Iterable, QuerySelect, Select};
use tickmesh_domain::{Exchange, Market, TradeId};

use crate::StorageError;

/// `SELECT` every column of `E`, decimal and one-byte `"char"` columns cast to text under
/// their own names.
///
/// Without the cast PostgreSQL sends `NUMERIC` in binary and sqlx drops the scale of zeros,
/// and sends `"char"` as a byte sqlx will not read as a string; on SQLite the cast is a no-op
/// on a `TEXT` column. sea-orm's `select_as` column attribute is no
/// substitute: it leaves the cast unaliased, and SQLite then names the result column after the
/// whole expression, which the model cannot find.
pub fn select_exact<E: EntityTrait>() -> Select<E> {
    let mut select = E::find().select_only();
    for column in E::Column::iter() {
        select = if matches!(
            column.def().get_column_type(),
            ColumnType::Decimal(_) | ColumnType::Char(_)
        ) {
            let expr = Expr::col((E::default(), column)).cast_as(Alias::new("text"));
            select.column_as(expr, column.as_str())
        } else {
            select.column(column)
        };
    }
    select
}

/// `column = (SELECT id FROM markets WHERE exchange = .. AND market = ..)`: the rows of one
/// pair, by its codes, in one statement. A pair never stored matches nothing.
///
/// A scalar subquery rather than `IN` or a join: both databases evaluate it once, before the
/// scan, so the comparison is an index condition on the key's leading column and an
/// `ORDER BY time LIMIT n` walks the index in order. A semi-join would read the pair's rows
/// and sort them.
pub fn of_market(column: impl ColumnTrait, exchange: Exchange, market: Market) -> SimpleExpr {
    let id = Query::select()
        .column(markets::Column::Id)
        .from(markets::Entity)
        .and_where(markets::Column::Exchange.eq(exchange.as_str()))
        .and_where(markets::Column::Market.eq(market.to_string()))
        .to_owned();
    Expr::col((column.entity_name(), column)).eq(SimpleExpr::SubQuery(
        None,
        Box::new(id.into_sub_query_statement()),
    ))
}

/// Reads a stored exchange identifier.
pub(crate) fn parse_exchange(table: &'static str, text: &str) -> Result<Exchange, StorageError> {
    text.parse()
        .map_err(|e| StorageError::invalid_row(table, "exchange", e))
}

/// Reads a stored canonical market.
pub(crate) fn parse_market(table: &'static str, text: &str) -> Result<Market, StorageError> {
    Market::parse(text).map_err(|e| StorageError::invalid_row(table, "market", e))
}

/// Reads a stored trade id, which the writer never stores negative.
pub(crate) fn parse_trade_id(
    table: &'static str,
    column: &'static str,
    value: i64,
) -> Result<TradeId, StorageError> {
    u64::try_from(value)
        .map(TradeId)
        .map_err(|_| StorageError::invalid_row(table, column, format!("negative trade id {value}")))
}
