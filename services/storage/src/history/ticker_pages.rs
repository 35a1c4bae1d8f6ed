//! A market's stored tickers, oldest first, one page at a time.
//!
//! Keyset pages as [`trades`](super::trades), ordered by `exchange_time_us` alone: the tickers
//! key is `(market_id, exchange_time_us)`, so within one market the time is unique and the
//! next page starts strictly after the last time handed out. The token is `tickers.v1:<time>`,
//! so a ListTrades token is refused rather than read as a time; clients must treat it as
//! opaque.

use sea_orm::{ConnectionTrait, QueryFilter, QueryOrder};
use tickmesh_domain::Ticker;

use super::HistoryError;
use super::page::{self, PageRequest, PageToken, in_range_from, read_page};
use crate::entity::{of_market, select_exact, tickers};
use crate::query::Stored;

const TOKEN: PageToken = PageToken {
    prefix: "tickers.v1:",
    rpc: "ListTickers",
};

/// One page of tickers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickerPage {
    /// Oldest first by exchange time; fields the exchange did not send are `None`.
    pub tickers: Vec<Stored<Ticker>>,
    /// Where the next page starts; `None` when this page holds the last matching ticker.
    pub next_page_token: Option<String>,
}

/// The tickers `request` asks for: of its market on its exchange with exchange time in
/// `[start, end)` (either bound may be open), oldest first, at most `size` of them, after the
/// ticker its token names.
///
/// Errors name `end_time` when `start >= end` and `page_token` when the token is not one this
/// function returned.
pub async fn tickers_page<C: ConnectionTrait>(
    db: &C,
    request: &PageRequest<'_>,
) -> Result<TickerPage, HistoryError> {
    let PageRequest {
        exchange,
        market,
        start,
        end,
        size: page_size,
        token: page_token,
    } = *request;
    let query = select_exact::<tickers::Entity>().filter(of_market(
        tickers::Column::MarketId,
        exchange,
        market,
    ));
    // A ticker's time is unique per market: the next page starts just after the key's.
    let from = match page_token {
        Some(token) => {
            let [after] = TOKEN.decode(token)?;
            Some(after.saturating_add(1))
        }
        None => None,
    };
    let query = in_range_from(query, tickers::Column::ExchangeTimeUs, start, end, from)?;
    let query = query.order_by_asc(tickers::Column::ExchangeTimeUs);
    let (rows, more) = read_page(db, query, page::page_size(page_size)).await?;
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => Some(TOKEN.encode([last.exchange_time_us])),
        _ => None,
    };
    Ok(TickerPage {
        tickers: rows
            .iter()
            .map(|row| Stored::ticker(exchange, market, row))
            .collect(),
        next_page_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_their_own() {
        let token = TOKEN.encode([1_790_133_480_000_000]);
        assert_eq!(token, "tickers.v1:1790133480000000");
        assert_eq!(TOKEN.decode(&token).unwrap(), [1_790_133_480_000_000]);
        // A ListTrades token, or one of its times, is not a tickers token.
        for foreign in [
            "v1:1790133480000000:17",
            "v1:1790133480000000",
            "1790133480000000",
        ] {
            match TOKEN.decode::<1>(foreign) {
                Err(HistoryError::InvalidArgument { field, reason }) => {
                    assert_eq!(field, "page_token");
                    assert!(reason.contains("ListTickers"), "{reason}");
                }
                other => panic!("{foreign:?} gave {other:?}"),
            }
        }
    }
}
