use async_trait::async_trait;
use tickmesh_domain::{Decimal, Side, TradeId};

use super::*;
use crate::protocol::TradePage;

/// A history of trades 0..n at times 10*i, served newest first in pages.
struct Tape {
    n: u64,
    cursor_pages: bool,
}

#[async_trait]
impl TradeHistory for Tape {
    async fn markets(&self) -> Result<Vec<Market>, RestError> {
        Ok(vec![])
    }

    async fn trades(
        &self,
        _market: Market,
        cursor: Option<u64>,
        count: u32,
    ) -> Result<TradePage, RestError> {
        let below = cursor.unwrap_or(self.n).min(self.n);
        let from = below.saturating_sub(u64::from(count));
        let trades: Vec<_> = (from..below)
            .rev()
            .map(|i| {
                (
                    UtcMicros(10 * i as i64),
                    Trade {
                        trade_id: TradeId(i),
                        price: Decimal::ONE,
                        size: Decimal::ONE,
                        side: Side::Buy,
                    },
                )
            })
            .collect();
        let next_cursor = (self.cursor_pages && from > 0).then_some(from);
        Ok(TradePage {
            trades,
            next_cursor,
        })
    }
}

fn btc() -> Market {
    Market::parse("BTC").unwrap()
}

fn since(i: u64) -> LastTrade {
    LastTrade {
        time: UtcMicros(10 * i as i64),
        id: TradeId(i),
    }
}

#[tokio::test]
async fn pages_back_to_the_last_trade_seen_and_returns_oldest_first() {
    let tape = Tape {
        n: 1_000,
        cursor_pages: true,
    };
    let limits = BackfillLimits {
        page_size: 100,
        max_pages: 20,
    };
    let result = backfill(&tape, btc(), since(749), limits).await.unwrap();
    assert!(result.complete);
    let ids: Vec<u64> = result.trades.iter().map(|(_, t)| t.trade_id.0).collect();
    assert_eq!(ids, (750..1_000).collect::<Vec<_>>());
}

#[tokio::test]
async fn reports_incomplete_when_pages_run_out_before_the_outage_start() {
    let tape = Tape {
        n: 1_000,
        cursor_pages: true,
    };
    let limits = BackfillLimits {
        page_size: 100,
        max_pages: 2,
    };
    let result = backfill(&tape, btc(), since(10), limits).await.unwrap();
    assert!(!result.complete);
    assert_eq!(result.trades.len(), 200);
    assert_eq!(result.trades[0].1.trade_id, TradeId(800));
}

#[tokio::test]
async fn a_history_without_cursor_covers_only_its_latest_page() {
    let korbit_like = Tape {
        n: 1_000,
        cursor_pages: false,
    };
    let limits = BackfillLimits {
        page_size: 500,
        max_pages: 20,
    };
    let near = backfill(&korbit_like, btc(), since(900), limits)
        .await
        .unwrap();
    assert!(near.complete);
    assert_eq!(near.trades.len(), 99);
    let far = backfill(&korbit_like, btc(), since(100), limits)
        .await
        .unwrap();
    assert!(!far.complete);
    assert_eq!(far.trades.len(), 500);
}

#[tokio::test]
async fn a_short_last_page_is_the_whole_history_so_nothing_is_missing() {
    // A market that traded 3 times, asked for everything after a time later than its start:
    // the exchange has nothing older, so the backfill is complete however far back `since` is.
    let young = Tape {
        n: 3,
        cursor_pages: false,
    };
    let limits = BackfillLimits {
        page_size: 500,
        max_pages: 2,
    };
    let result = backfill(&young, btc(), since(0), limits).await.unwrap();
    assert!(result.complete);
    assert_eq!(result.trades.len(), 2);
    let empty = Tape {
        n: 0,
        cursor_pages: false,
    };
    let result = backfill(&empty, btc(), since(5), limits).await.unwrap();
    assert!(result.complete && result.trades.is_empty());
}
