//! Ticker pages: every stored ticker exactly once, in order, within `[start, end)`, whatever
//! the page size; tokens that are not this read's are refused naming `page_token`.

use tickmesh_domain::{Exchange, MarketEvent, Ticker, UtcMicros};
use tickmesh_storage::history::{self, HistoryError, TickerPage};
use tickmesh_storage::query::{self, Stored};
use tickmesh_storage::{MarketStore, StoreConfig};

use super::fixtures::{SECOND, eth, exact, last_only, on, write_all};
use crate::common::{MINUTE, TestDb, btc};

/// How many Korbit ETH/KRW tickers [`write_tickers`] stores.
pub const TICKERS: usize = 1_234;

/// [`TICKERS`] Korbit ETH/KRW tickers 3 s apart from [`MINUTE`], the `i`th at price
/// `4000000.<i>` (so each is told apart, scale and all), written newest first in two batches;
/// plus the other fixtures, which must not show up in its pages.
pub async fn write_tickers(db: &TestDb) {
    write_all(db).await;
    let tickers: Vec<MarketEvent> = (0..TICKERS)
        .map(|i| korbit_eth(MINUTE + i as i64 * 3 * SECOND, &format!("4000000.{i}")))
        .collect();
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    store.write(&tickers[TICKERS / 2..]).await.unwrap();
    store.write(&tickers[..TICKERS / 2]).await.unwrap();
}

pub fn korbit_eth(time: i64, last: &str) -> MarketEvent {
    on(Exchange::Korbit, eth(), last_only(time, last))
}

async fn page(db: &TestDb, size: u32, range: [Option<i64>; 2], token: Option<&str>) -> TickerPage {
    let [start, end] = range.map(|t| t.map(UtcMicros));
    history::tickers_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Korbit,
            market: eth(),
            start,
            end,
            size,
            token,
        },
    )
    .await
    .unwrap()
}

/// Every page of a read, fetched `size` at a time.
async fn pages(db: &TestDb, size: u32, range: [Option<i64>; 2]) -> Vec<Vec<Stored<Ticker>>> {
    let (mut pages, mut token) = (Vec::new(), None::<String>);
    loop {
        let page = page(db, size, range, token.as_deref()).await;
        pages.push(page.tickers);
        token = page.next_page_token;
        if token.is_none() {
            return pages;
        }
    }
}

async fn tickers_page_each_once_in_order(db: TestDb) {
    write_tickers(&db).await;
    let stored = query::tickers(&db.conn, Exchange::Korbit, eth())
        .await
        .unwrap();
    assert_eq!(stored.len(), TICKERS);
    assert!(
        stored
            .windows(2)
            .all(|w| w[0].exchange_time < w[1].exchange_time)
    );

    let small = pages(&db, 7, [None, None]).await;
    assert_eq!(small.len(), TICKERS.div_ceil(7));
    assert!(small[..small.len() - 1].iter().all(|p| p.len() == 7));
    assert_eq!(small.concat(), stored);
    exact(small[0][0].data.last, "4000000.0");
    exact(small[1][3].data.last, "4000000.10");
    assert_eq!(small[0][0].received_time, UtcMicros(MINUTE + 55_000));

    // A count that fills its last page exactly ends there, without an empty page after it.
    let exact_fit = pages(&db, 617, [None, None]).await;
    assert_eq!(
        exact_fit.iter().map(Vec::len).collect::<Vec<_>>(),
        [617, 617]
    );

    // 0 means 100; above the maximum means 1,000.
    assert_eq!(page(&db, 0, [None, None], None).await.tickers.len(), 100);
    let clamped = page(&db, u32::MAX, [None, None], None).await;
    assert_eq!(clamped.tickers.len(), 1_000);
    let rest = page(&db, 5_000, [None, None], clamped.next_page_token.as_deref()).await;
    assert_eq!(
        (rest.tickers.len(), rest.next_page_token),
        (TICKERS - 1_000, None)
    );

    // A ticker stored between two pages, before the boundary, does not shift the pages after.
    let first = page(&db, 10, [None, None], None).await;
    let late = korbit_eth(MINUTE + 3 * SECOND + 1, "1");
    MarketStore::new(db.conn.clone(), StoreConfig::default())
        .write(&[late])
        .await
        .unwrap();
    let second = page(&db, 10, [None, None], first.next_page_token.as_deref()).await;
    assert_eq!(second.tickers, stored[10..20]);

    // Only that exchange's tickers of that market.
    let bithumb = history::tickers_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: None,
            end: None,
            size: 0,
            token: None,
        },
    )
    .await
    .unwrap();
    let times: Vec<_> = bithumb.tickers.iter().map(|t| t.exchange_time).collect();
    assert_eq!(
        (times, bithumb.next_page_token),
        (vec![UtcMicros(MINUTE + 500)], None)
    );
}
crate::on_both_backends!(tickers_page_each_once_in_order);

async fn tickers_page_honours_the_range(db: TestDb) {
    write_tickers(&db).await;
    let stored = query::tickers(&db.conn, Exchange::Korbit, eth())
        .await
        .unwrap();
    let time = |i: usize| stored[i].exchange_time.as_micros();

    // Start inclusive, end exclusive, both on a stored ticker's time, across pages.
    let ranged = pages(&db, 4, [Some(time(100)), Some(time(130))]).await;
    assert_eq!(ranged.concat(), stored[100..130]);
    assert_eq!(ranged.len(), 8);
    // Either bound open; bounds between tickers.
    let from = pages(&db, 0, [Some(time(1200) - 1), None]).await;
    assert_eq!(from.concat(), stored[1200..]);
    let until = pages(&db, 0, [None, Some(time(5) + 1)]).await;
    assert_eq!(until.concat(), stored[..6]);
    let between = page(&db, 0, [Some(time(7) + 1), Some(time(8))], None).await;
    assert!(between.tickers.is_empty() && between.next_page_token.is_none());

    let backwards = history::tickers_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Korbit,
            market: eth(),
            start: Some(UtcMicros(time(8))),
            end: Some(UtcMicros(time(8))),
            size: 0,
            token: None,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            backwards,
            HistoryError::InvalidArgument {
                field: "end_time",
                ..
            }
        ),
        "{backwards:?}"
    );
}
crate::on_both_backends!(tickers_page_honours_the_range);

async fn tickers_page_refuses_foreign_tokens(db: TestDb) {
    write_tickers(&db).await;
    let trades = history::trades_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: None,
            end: None,
            size: 10,
            token: None,
        },
    )
    .await
    .unwrap();
    let trade_token = trades.next_page_token.unwrap();
    let ours = page(&db, 10, [None, None], None)
        .await
        .next_page_token
        .unwrap();
    let (_, time) = ours.rsplit_once(':').unwrap();
    for bad in [
        trade_token.as_str(),
        time,
        "garbage",
        "tickers.v1:x",
        "tickers.v1:1:2",
    ] {
        let err = history::tickers_page(
            &db.conn,
            &history::PageRequest {
                exchange: Exchange::Korbit,
                market: eth(),
                start: None,
                end: None,
                size: 10,
                token: Some(bad),
            },
        )
        .await
        .unwrap_err();
        let HistoryError::InvalidArgument { field, reason } = &err else {
            panic!("{bad:?} gave {err:?}");
        };
        assert_eq!(*field, "page_token", "{bad:?}");
        assert!(reason.contains("ListTickers"), "{reason}");
    }
    // Nor is a tickers token a trades token.
    let err = history::trades_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: None,
            end: None,
            size: 10,
            token: Some(&ours),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::InvalidArgument {
                field: "page_token",
                ..
            }
        ),
        "{err:?}"
    );
}
crate::on_both_backends!(tickers_page_refuses_foreign_tokens);
