//! The latest ticker of every exchange for one market, and the spread between them.
//!
//! Upbit's and Bithumb's tickers carry no best bid or ask. A latest ticker without both takes
//! them from the latest order book stored for its exchange and market, so every exchange shows
//! a quote; [`LatestTicker::book_time`] says how old that quote is, since books are stored
//! throttled and may lag the ticker. Both sides come from the book even when the ticker had
//! one of them, so the pair is one moment's quote and `book_time` holds for both.

use sea_orm::{ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use tickmesh_domain::{Decimal, Exchange, Market, Ticker, UtcMicros};

use super::{HistoryError, percent};
use crate::entity::{of_market, orderbook_snapshots, select_exact, tickers};
use crate::query::Stored;

/// The latest ticker of each exchange that has one for a market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestTickers {
    /// One per exchange with stored tickers, in [`Exchange::ALL`] order.
    pub tickers: Vec<LatestTicker>,
    /// Between the highest and the lowest last price; `None` with fewer than two exchanges.
    pub spread: Option<Spread>,
}

/// One exchange's latest ticker, its best bid and ask completed from the latest stored book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestTicker {
    /// The ticker as stored, but for `best_bid` and `best_ask` when [`LatestTicker::book_time`]
    /// is set: those are then the first bid and ask level of that book (`None` for an empty
    /// side).
    pub ticker: Stored<Ticker>,
    /// The exchange time of the order book `best_bid` and `best_ask` were taken from; `None`
    /// when the ticker carried both, or when no book of its exchange and market is stored.
    pub book_time: Option<UtcMicros>,
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
/// A ticker lacking `best_bid` or `best_ask` gets both from the exchange's latest stored book
/// (see [`LatestTicker`]).
///
/// A market nobody stored tickers for gives no tickers and no spread, not an error: whether an
/// exchange lists a market is the subscription service's question. One indexed lookup per
/// exchange (the tickers key is market id, exchange time), and one more per ticker without a
/// quote (the books' key is the same).
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
            let ticker = Stored::ticker(exchange, market, &row);
            latest.push(with_book_quote(db, ticker).await?);
        }
    }
    let spread = spread(&latest);
    Ok(LatestTickers {
        tickers: latest,
        spread,
    })
}

/// `ticker` with the latest stored book's best bid and ask when it lacks either.
async fn with_book_quote<C: ConnectionTrait>(
    db: &C,
    mut ticker: Stored<Ticker>,
) -> Result<LatestTicker, HistoryError> {
    if ticker.data.best_bid.is_some() && ticker.data.best_ask.is_some() {
        return Ok(LatestTicker {
            ticker,
            book_time: None,
        });
    }
    let book = select_exact::<orderbook_snapshots::Entity>()
        .filter(of_market(
            orderbook_snapshots::Column::MarketId,
            ticker.exchange,
            ticker.market,
        ))
        .order_by_desc(orderbook_snapshots::Column::ExchangeTimeUs)
        .limit(1)
        .one(db)
        .await?;
    let Some(book) = book else {
        return Ok(LatestTicker {
            ticker,
            book_time: None,
        });
    };
    // The whole book is decoded, not just its first levels, so a corrupt row is reported as
    // such rather than half read.
    let levels = book.to_book()?;
    ticker.data.best_bid = levels.bids.first().map(|level| level.price);
    ticker.data.best_ask = levels.asks.first().map(|level| level.price);
    Ok(LatestTicker {
        ticker,
        book_time: Some(UtcMicros(book.exchange_time_us)),
    })
}

/// The spread between the highest and lowest last price; `None` with fewer than two tickers or
/// a lowest last price of zero (no meaningful percentage).
fn spread(tickers: &[LatestTicker]) -> Option<Spread> {
    let (first, rest) = tickers.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let (mut highest, mut lowest) = (&first.ticker, &first.ticker);
    for LatestTicker { ticker: t, .. } in rest {
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

    fn stored(exchange: Exchange, last: &str) -> LatestTicker {
        let ticker = Stored {
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
        };
        LatestTicker {
            ticker,
            book_time: None,
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
