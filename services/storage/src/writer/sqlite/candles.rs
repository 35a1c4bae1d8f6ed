//! One-minute candles from newly inserted trades, merged with what is stored: the SQLite path,
//! where the merge happens in Rust because decimals are stored as text. PostgreSQL merges in
//! the batch statement instead ([`crate::writer::postgres`]).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, QueryFilter};
use tickmesh_domain::{Candle, CandleInterval, Exchange, Market, UtcMicros};

use crate::StorageError;
use crate::decimal::StoredDecimal;
use crate::entity::{candles_1m, select_exact};
use crate::writer::market_ids::MarketIds;
use crate::writer::rows::{TradeRef, row_error, rows_per_statement, trade_id};

/// Markets whose candles are read back per statement (one bind parameter each, plus one per
/// candle).
const MARKETS_PER_READ: usize = 500;

type CandleKey = (Exchange, Market, UtcMicros);

/// Folds `new_trades` (trades whose insert was new, so none is counted twice) into the stored
/// one-minute candles. Returns how many candles were created or updated.
pub(crate) async fn upsert<C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    ids: &MarketIds,
    new_trades: &[TradeRef<'_>],
) -> Result<usize, StorageError> {
    let mut candles: BTreeMap<CandleKey, Candle> = BTreeMap::new();
    for (event, trade, _) in new_trades {
        let overflow = |source| StorageError::CandleOverflow {
            exchange: event.exchange,
            market: event.market,
            trade_id: trade.trade_id.0,
            source,
        };
        let candle = Candle::from_trade(CandleInterval::OneMinute, event.exchange_time, trade)
            .map_err(overflow)?;
        match candles.entry((event.exchange, event.market, candle.open_time)) {
            Entry::Occupied(mut stored) => stored.get_mut().merge(&candle).map_err(overflow)?,
            Entry::Vacant(slot) => {
                slot.insert(candle);
            }
        }
    }
    let markets: BTreeSet<(Exchange, Market)> = candles.keys().map(|&(e, m, _)| (e, m)).collect();
    // One read per chunk of markets rather than one per market: with hundreds of markets a
    // batch would otherwise spend its time in round trips.
    let markets: Vec<(Exchange, Market)> = markets.into_iter().collect();
    for chunk in markets.chunks(MARKETS_PER_READ) {
        let mut any = Condition::any();
        for &(exchange, market) in chunk {
            let open_times = candles
                .range(
                    (exchange, market, UtcMicros(i64::MIN))
                        ..=(exchange, market, UtcMicros(i64::MAX)),
                )
                .map(|(&(_, _, t), _)| t.as_micros());
            any = any.add(
                Condition::all()
                    .add(candles_1m::Column::MarketId.eq(ids.id(exchange, market)?))
                    .add(candles_1m::Column::OpenTimeUs.is_in(open_times)),
            );
        }
        let stored = select_exact::<candles_1m::Entity>()
            .filter(any)
            .all(db)
            .await?;
        for model in stored {
            let (exchange, market) = ids.pair(model.market_id).ok_or_else(|| {
                StorageError::invalid_row(
                    "candles_1m",
                    "market_id",
                    format!("{} was not asked for", model.market_id),
                )
            })?;
            let stored = model.to_candle()?;
            if let Some(candle) = candles.get_mut(&(exchange, market, stored.open_time)) {
                let last = candle.last_trade.1;
                candle
                    .merge(&stored)
                    .map_err(|source| StorageError::CandleOverflow {
                        exchange,
                        market,
                        trade_id: last.0,
                        source,
                    })?;
            }
        }
    }
    write(db, backend, ids, &candles).await?;
    Ok(candles.len())
}

/// Writes merged candles over the stored ones.
async fn write<C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    ids: &MarketIds,
    candles: &BTreeMap<CandleKey, Candle>,
) -> Result<(), StorageError> {
    use candles_1m::Column as C;
    let key = [C::MarketId, C::OpenTimeUs];
    let values = [
        C::Open,
        C::High,
        C::Low,
        C::Close,
        C::Volume,
        C::QuoteVolume,
        C::TradeCount,
        C::FirstTradeTimeUs,
        C::FirstTradeId,
        C::LastTradeTimeUs,
        C::LastTradeId,
    ];
    let rows: Vec<_> = candles.iter().collect();
    for chunk in rows.chunks(rows_per_statement(key.len() + values.len())) {
        let mut insert = Query::insert();
        insert
            .into_table(candles_1m::Entity)
            .columns(key.into_iter().chain(values));
        for &(&(exchange, market, open_time), c) in chunk {
            let id = |t: (UtcMicros, _)| trade_id(exchange, market, t.1);
            let row: [SimpleExpr; 13] = [
                Expr::val(ids.id(exchange, market)?).into(),
                Expr::val(open_time.as_micros()).into(),
                StoredDecimal(c.open).to_expr(backend),
                StoredDecimal(c.high).to_expr(backend),
                StoredDecimal(c.low).to_expr(backend),
                StoredDecimal(c.close).to_expr(backend),
                StoredDecimal(c.volume).to_expr(backend),
                StoredDecimal(c.quote_volume).to_expr(backend),
                // More than i64::MAX trades in one minute cannot happen.
                Expr::val(i64::try_from(c.trade_count).unwrap_or(i64::MAX)).into(),
                Expr::val(c.first_trade.0.as_micros()).into(),
                Expr::val(id(c.first_trade)?).into(),
                Expr::val(c.last_trade.0.as_micros()).into(),
                Expr::val(id(c.last_trade)?).into(),
            ];
            insert.values(row).map_err(row_error)?;
        }
        insert.on_conflict(OnConflict::columns(key).update_columns(values).to_owned());
        db.execute(backend.build(&insert)).await?;
    }
    Ok(())
}
