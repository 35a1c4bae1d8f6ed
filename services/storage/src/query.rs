//! Reads of stored market data, exact to the digit and scale.
//!
//! Every read goes through [`select_exact`] so decimals come back
//! as written. The gRPC `HistoryService` builds on these.

use sea_orm::{ConnectionTrait, QueryFilter, QueryOrder, Statement};
use tickmesh_domain::{Candle, Exchange, Market, OrderBook, Ticker, Trade, TradeId, UtcMicros};

use crate::StorageError;
use crate::entity::{
    candles_1m, of_market, orderbook_snapshots, parse_exchange, parse_market, parse_trade_id,
    select_exact, tickers, trades,
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

impl Stored<Ticker> {
    /// The ticker a `tickers` row of `market` on `exchange` stores.
    pub(crate) fn ticker(exchange: Exchange, market: Market, row: &tickers::Model) -> Self {
        Stored {
            exchange,
            market,
            exchange_time: UtcMicros(row.exchange_time_us),
            received_time: UtcMicros(row.received_time_us),
            data: row.to_ticker(),
        }
    }
}

/// A market's trades, by trade id.
pub async fn trades<C: ConnectionTrait>(
    db: &C,
    exchange: Exchange,
    market: Market,
) -> Result<Vec<Stored<Trade>>, StorageError> {
    let rows = select_exact::<trades::Entity>()
        .filter(of_market(trades::Column::MarketId, exchange, market))
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
        .filter(of_market(tickers::Column::MarketId, exchange, market))
        .order_by_asc(tickers::Column::ExchangeTimeUs)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|row| Stored::ticker(exchange, market, row))
        .collect())
}

/// A market's stored order book snapshots, oldest first.
pub async fn orderbooks<C: ConnectionTrait>(
    db: &C,
    exchange: Exchange,
    market: Market,
) -> Result<Vec<Stored<OrderBook>>, StorageError> {
    let rows = select_exact::<orderbook_snapshots::Entity>()
        .filter(of_market(
            orderbook_snapshots::Column::MarketId,
            exchange,
            market,
        ))
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
        .filter(of_market(candles_1m::Column::MarketId, exchange, market))
        .order_by_asc(candles_1m::Column::OpenTimeUs)
        .all(db)
        .await?;
    rows.iter().map(candles_1m::Model::to_candle).collect()
}

/// The key of every stored trade, ordered by exchange, market and trade id.
pub async fn trade_ids<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(Exchange, Market, TradeId)>, StorageError> {
    let sql = "SELECT m.exchange, m.market, t.trade_id FROM trades t \
               JOIN markets m ON m.id = t.market_id \
               ORDER BY m.exchange, m.market, t.trade_id";
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|row| {
            let exchange: String = row.try_get("", "exchange")?;
            let market: String = row.try_get("", "market")?;
            let id: i64 = row.try_get("", "trade_id")?;
            Ok((
                parse_exchange("markets", &exchange)?,
                parse_market("markets", &market)?,
                parse_trade_id("trades", "trade_id", id)?,
            ))
        })
        .collect()
}
