//! A market's trades, oldest first, one page at a time.
//!
//! Pages are keyset pages ordered by `(exchange_time_us, trade_id)`: a page token remembers
//! the key of the last trade handed out, and the next page starts strictly after it. Unlike
//! offsets, trades stored meanwhile (a late backfill) never shift a page boundary, so pages
//! neither repeat nor skip a trade that was already stored. The token is `v1:<time>:<id>`;
//! clients must treat it as opaque.

use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
use tickmesh_domain::{Trade, UtcMicros};

use super::HistoryError;
use super::page::{self, PageRequest, PageToken, in_range_from, read_page};
use crate::entity::{of_market, select_exact, trades};
use crate::query::Stored;

const TOKEN: PageToken = PageToken {
    prefix: "v1:",
    rpc: "ListTrades",
};

/// One page of trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradePage {
    /// Oldest first by exchange time, then trade id.
    pub trades: Vec<Stored<Trade>>,
    /// Where the next page starts; `None` when this page holds the last matching trade.
    pub next_page_token: Option<String>,
}

/// The trades `request` asks for: of its market on its exchange with exchange time in
/// `[start, end)` (either bound may be open), oldest first, at most `size` of them (0 means
/// [`DEFAULT_PAGE_SIZE`](super::DEFAULT_PAGE_SIZE), above [`MAX_PAGE_SIZE`](super::MAX_PAGE_SIZE)
/// the maximum), after the trade its token names.
///
/// Errors name `end_time` when `start >= end` and `page_token` when the token is not one this
/// function returned.
pub async fn trades_page<C: ConnectionTrait>(
    db: &C,
    request: &PageRequest<'_>,
) -> Result<TradePage, HistoryError> {
    let PageRequest {
        exchange,
        market,
        start,
        end,
        size: page_size,
        token: page_token,
    } = *request;
    let after = page_token.map(decode_token).transpose()?;
    let query = select_exact::<trades::Entity>().filter(of_market(
        trades::Column::MarketId,
        exchange,
        market,
    ));
    // The next page starts at the key's time; the OR below picks the trades after the key.
    let from = after.map(|(time, _)| time);
    let mut query = in_range_from(query, trades::Column::ExchangeTimeUs, start, end, from)?;
    if let Some((time, id)) = after {
        // (time, id) > key, spelled out: row-value comparison is not in every SQLite.
        query = query.filter(
            Condition::any()
                .add(trades::Column::ExchangeTimeUs.gt(time))
                .add(
                    Condition::all()
                        .add(Expr::col(trades::Column::ExchangeTimeUs).eq(time))
                        .add(trades::Column::TradeId.gt(id)),
                ),
        );
    }
    let query = query
        .order_by_asc(trades::Column::ExchangeTimeUs)
        .order_by_asc(trades::Column::TradeId);
    let (rows, more) = read_page(db, query, page::page_size(page_size)).await?;
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => Some(TOKEN.encode([last.exchange_time_us, last.trade_id])),
        _ => None,
    };
    let trades = rows
        .iter()
        .map(|row| {
            Ok(Stored {
                exchange,
                market,
                exchange_time: UtcMicros(row.exchange_time_us),
                received_time: UtcMicros(row.received_time_us),
                data: row.to_trade()?,
            })
        })
        .collect::<Result<_, HistoryError>>()?;
    Ok(TradePage {
        trades,
        next_page_token,
    })
}

/// The `(exchange_time_us, trade_id)` a token names.
fn decode_token(token: &str) -> Result<(i64, i64), HistoryError> {
    let [time, id] = TOKEN.decode(token)?;
    // The writer never stores a negative trade id.
    if id < 0 {
        return Err(TOKEN.invalid());
    }
    Ok((time, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let token = TOKEN.encode([1_790_133_480_000_000, 17_883_351_803_770_004]);
        assert_eq!(token, "v1:1790133480000000:17883351803770004");
        assert_eq!(
            decode_token(&token).unwrap(),
            (1_790_133_480_000_000, 17_883_351_803_770_004)
        );
        assert_eq!(decode_token("v1:-5:0").unwrap(), (-5, 0));
    }

    #[test]
    fn rejects_foreign_tokens_naming_the_field() {
        for bad in [
            "", "garbage", "v1:", "v1:1", "v1:x:2", "v1:1:-2", "v2:1:2", "v1:1:2:3",
        ] {
            match decode_token(bad) {
                Err(HistoryError::InvalidArgument { field, .. }) => assert_eq!(field, "page_token"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
