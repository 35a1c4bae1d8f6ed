//! Reads of stored market data, exact to the digit and scale.
//!
//! Every read goes through [`select_exact`] so decimals come back
//! as written. The gRPC `HistoryService` builds on these.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tickmesh_domain::{Candle, Exchange, Market, OrderBook, Ticker, Trade, TradeId, UtcMicros};

use crate::StorageError;
use crate::entity::{
    candles_1m, orderbook_snapshots, parse_exchange, parse_market, parse_trade_id, select_exact,
    tickers, trades,
};

/// A stored event's data with its market and both clocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    /// Where it came from.
    pub exchange: Exchange,
    /// Which pair.
    pub market: Market,
    /// When the exchange says it happened.
    pub exchange_time: UtcMicros,
    /// When tickmesh received it.
    pub received_time: UtcMicros,
    /// The data.
    pub data: T,
}

/// A market's trades, by trade id.
pub async fn trades<C: ConnectionTrait>(
    db: &C,
    exchange: Exchange,
    market: Market,
) -> Result<Vec<Stored<Trade>>, StorageError> {
    let rows = select_exact::<trades::Entity>()
        .filter(trades::Column::Exchange.eq(exchange.as_str()))
        .filter(trades::Column::Market.eq(market.to_string()))
        .order_by_asc(trades::Column::TradeId)
        .all(db)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Stored {
                exchange,
                market,
                exchange_time: UtcMicros(row.exchange_time_us),
                received_time: UtcMicros(row.received_time_us),
                data: row.to_trade()?,
            })
        })
        .collect()
}

/// A market's ticker updates, oldest first.
pub async fn tickers<C: ConnectionTrait>(
    db: &C,
    exchange: Exchange,
    market: Market,
) -> Result<Vec<Stored<Ticker>>, StorageError> {
    let rows = select_exact::<tickers::Entity>()
        .filter(tickers::Column::Exchange.eq(exchange.as_str()))
        .filter(tickers::Column::Market.eq(market.to_string()))
        .order_by_asc(tickers::Column::ExchangeTimeUs)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|row| Stored {
            exchange,
            market,
            exchange_time: UtcMicros(row.exchange_time_us),
            received_time: UtcMicros(row.received_time_us),
            data: row.to_ticker(),
        })
        .collect())
}

/// A market's stored order book snapshots, oldest first.
pub async fn orderbooks<C: ConnectionTrait>(
    db: &C,
    exchange: Exchange,
    market: Market,
) -> Result<Vec<Stored<OrderBook>>, StorageError> {
    let rows = select_exact::<orderbook_snapshots::Entity>()
        .filter(orderbook_snapshots::Column::Exchange.eq(exchange.as_str()))
        .filter(orderbook_snapshots::Column::Market.eq(market.to_string()))
        .order_by_asc(orderbook_snapshots::Column::ExchangeTimeUs)
        .all(db)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Stored {
                exchange,
                market,
                exchange_time: UtcMicros(row.exchange_time_us),
                received_time: UtcMicros(row.received_time_us),
                data: row.to_book()?,
            })
        })
        .collect()
}

/// A market's one-minute candles, oldest first.
pub async fn candles_1m<C: ConnectionTrait>(
    db: &C,
    exchange: Exchange,
    market: Market,
) -> Result<Vec<Candle>, StorageError> {
    let rows = select_exact::<candles_1m::Entity>()
        .filter(candles_1m::Column::Exchange.eq(exchange.as_str()))
        .filter(candles_1m::Column::Market.eq(market.to_string()))
        .order_by_asc(candles_1m::Column::OpenTimeUs)
        .all(db)
        .await?;
    rows.iter().map(candles_1m::Model::to_candle).collect()
}

/// The key of every stored trade, ordered by exchange, market and trade id.
pub async fn trade_ids<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(Exchange, Market, TradeId)>, StorageError> {
    let rows: Vec<(String, String, i64)> = trades::Entity::find()
        .select_only()
        .column(trades::Column::Exchange)
        .column(trades::Column::Market)
        .column(trades::Column::TradeId)
        .order_by_asc(trades::Column::Exchange)
        .order_by_asc(trades::Column::Market)
        .order_by_asc(trades::Column::TradeId)
        .into_tuple()
        .all(db)
        .await?;
    rows.iter()
        .map(|(exchange, market, id)| {
            Ok((
                parse_exchange("trades", exchange)?,
                parse_market("trades", market)?,
                parse_trade_id("trades", "trade_id", *id)?,
            ))
        })
        .collect()
}
