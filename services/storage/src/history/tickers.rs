//! The latest ticker of every exchange for one market, and the spread between them.

use sea_orm::{ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use tickmesh_domain::{Decimal, Exchange, Market, Ticker, UtcMicros};

use super::{HistoryError, percent};
use crate::entity::{of_market, select_exact, tickers};
use crate::query::Stored;

/// The latest ticker of each exchange that has one for a market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestTickers {
    /// One per exchange with stored tickers, in [`Exchange::ALL`] order.
    pub tickers: Vec<Stored<Ticker>>,
    /// Between the highest and the lowest last price; `None` with fewer than two exchanges.
    pub spread: Option<Spread>,
}

/// How far apart the exchanges' last prices are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// The exchange with the highest last price (the first in [`Exchange::ALL`] order on a tie).
    pub highest: Exchange,
    /// The exchange with the lowest last price (the first in [`Exchange::ALL`] order on a tie).
    pub lowest: Exchange,
    /// Highest last price minus lowest, exact.
    pub absolute: Decimal,
    /// `absolute / lowest last * 100`, at [`PERCENT_SCALE`](super::PERCENT_SCALE) places.
    pub percent: Decimal,
}

/// The latest stored ticker (by exchange time) of every exchange for `market`, with the spread.
///
/// A market nobody stored tickers for gives no tickers and no spread, not an error: whether an
/// exchange lists a market is the subscription service's question. One indexed lookup per
/// exchange (the tickers key is market id, exchange time).
pub async fn latest_tickers<C: ConnectionTrait>(
    db: &C,
    market: Market,
) -> Result<LatestTickers, HistoryError> {
    let mut latest = Vec::new();
    for exchange in Exchange::ALL {
        let row = select_exact::<tickers::Entity>()
            .filter(of_market(tickers::Column::MarketId, exchange, market))
            .order_by_desc(tickers::Column::ExchangeTimeUs)
            .limit(1)
            .one(db)
            .await?;
        if let Some(row) = row {
            latest.push(Stored {
                exchange,
                market,
                exchange_time: UtcMicros(row.exchange_time_us),
                received_time: UtcMicros(row.received_time_us),
                data: row.to_ticker(),
            });
        }
    }
    let spread = spread(&latest);
    Ok(LatestTickers {
        tickers: latest,
        spread,
    })
}

/// The spread between the highest and lowest last price; `None` with fewer than two tickers or
/// a lowest last price of zero (no meaningful percentage).
fn spread(tickers: &[Stored<Ticker>]) -> Option<Spread> {
    let (first, rest) = tickers.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let (mut highest, mut lowest) = (first, first);
    for t in rest {
        if t.data.last > highest.data.last {
            highest = t;
        }
        if t.data.last < lowest.data.last {
            lowest = t;
        }
    }
    let absolute = highest.data.last.checked_sub(lowest.data.last)?;
    Some(Spread {
        highest: highest.exchange,
        lowest: lowest.exchange,
        absolute,
        percent: percent(absolute, lowest.data.last)?,
    })
}

#[cfg(test)]
mod tests {
    use tickmesh_domain::parse_decimal;

    use super::*;

    fn stored(exchange: Exchange, last: &str) -> Stored<Ticker> {
        Stored {
            exchange,
            market: Market::parse("BTC").unwrap(),
            exchange_time: UtcMicros(1),
            received_time: UtcMicros(2),
            data: Ticker {
                last: parse_decimal(last).unwrap(),
                open: None,
                high: None,
                low: None,
                prev_close: None,
                volume_24h: None,
                quote_volume_24h: None,
                best_bid: None,
                best_ask: None,
            },
        }
    }

    #[test]
    fn spread_needs_two_exchanges_and_a_positive_lowest_price() {
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[stored(Exchange::Upbit, "1")]), None);
        let zero = [stored(Exchange::Upbit, "1"), stored(Exchange::Korbit, "0")];
        assert_eq!(spread(&zero), None);
    }

    #[test]
    fn ties_go_to_the_first_exchange() {
        let all = [
            stored(Exchange::Upbit, "5.0"),
            stored(Exchange::Bithumb, "5.00"),
            stored(Exchange::Korbit, "5"),
        ];
        let s = spread(&all).unwrap();
        assert_eq!((s.highest, s.lowest), (Exchange::Upbit, Exchange::Upbit));
        assert_eq!(s.percent.to_string(), "0.0000");
    }
}
