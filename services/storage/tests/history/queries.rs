//! Latest tickers with their spread, and trade pages.

use tickmesh_domain::{Exchange, Market, Payload, UtcMicros};
use tickmesh_storage::history::{self, HistoryError};
use tickmesh_storage::query;

use super::fixtures::{SECOND, eth, exact, write_all};
use crate::common::{MINUTE, TestDb, btc, ticker};

async fn latest_tickers_and_their_spread(db: TestDb) {
    write_all(&db).await;
    let latest = history::latest_tickers(&db.conn, btc()).await.unwrap();
    let exchanges: Vec<_> = latest.tickers.iter().map(|t| t.ticker.exchange).collect();
    assert_eq!(
        exchanges,
        [Exchange::Upbit, Exchange::Bithumb, Exchange::Korbit]
    );
    let upbit = &latest.tickers[0].ticker;
    assert_eq!(upbit.exchange_time, UtcMicros(MINUTE + 2 * SECOND));
    assert_eq!(upbit.received_time, UtcMicros(MINUTE + 2 * SECOND + 55_000));
    let Payload::Ticker(written) = ticker(0).payload else {
        unreachable!()
    };
    assert_eq!(upbit.data, written);
    exact(
        upbit.data.quote_volume_24h.unwrap(),
        "95078733694.3792000000000000",
    );
    exact(upbit.data.open.unwrap(), "0.00000000");
    exact(latest.tickers[2].ticker.data.last, "158150500.5");
    // No books stored: the quotes are the tickers' own.
    assert!(latest.tickers.iter().all(|t| t.book_time.is_none()));

    let spread = latest.spread.unwrap();
    assert_eq!(
        (spread.highest, spread.lowest),
        (Exchange::Upbit, Exchange::Bithumb)
    );
    // 158201000.00000000 - 158100000, and 101000 / 158100000 * 100 = 0.063883... .
    exact(spread.absolute, "101000.00000000");
    exact(spread.percent, "0.0639");

    let one = history::latest_tickers(&db.conn, eth()).await.unwrap();
    assert_eq!(one.tickers.len(), 1);
    assert_eq!(one.spread, None);
    let none = history::latest_tickers(&db.conn, Market::parse("DOGE").unwrap())
        .await
        .unwrap();
    assert!(none.tickers.is_empty() && none.spread.is_none());
}
crate::on_both_backends!(latest_tickers_and_their_spread);

async fn trades_page_without_overlap_or_gap(db: TestDb) {
    write_all(&db).await;
    let mut expected = query::trades(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    expected.sort_by_key(|t| (t.exchange_time, t.data.trade_id));
    assert_eq!(expected.len(), 250);

    let (mut pages, mut token) = (Vec::new(), None::<String>);
    loop {
        let page = history::trades_page(
            &db.conn,
            &history::PageRequest {
                exchange: Exchange::Bithumb,
                market: btc(),
                start: None,
                end: None,
                size: 100,
                token: token.as_deref(),
            },
        )
        .await
        .unwrap();
        pages.push(page.trades);
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    assert_eq!(pages.concat(), expected);
    exact(pages[0][0].data.size, "0.0002");

    // [start, end) by exchange time; 0 means the default page size, above 1000 the maximum.
    let (start, end) = (
        UtcMicros(MINUTE + 70 * SECOND),
        UtcMicros(MINUTE + 140 * SECOND),
    );
    let ranged = history::trades_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: Some(start),
            end: Some(end),
            size: 0,
            token: None,
        },
    )
    .await
    .unwrap();
    let inside: Vec<_> = expected
        .iter()
        .filter(|t| t.exchange_time >= start && t.exchange_time < end)
        .cloned()
        .collect();
    assert_eq!(inside.len(), 20);
    assert_eq!((ranged.trades, ranged.next_page_token), (inside, None));
    let all = history::trades_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: None,
            end: None,
            size: 5_000,
            token: None,
        },
    )
    .await
    .unwrap();
    assert_eq!((all.trades.len(), all.next_page_token), (250, None));
    let first = history::trades_page(
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
    assert_eq!(first.trades.len(), 100);

    let bad = history::trades_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: None,
            end: None,
            size: 10,
            token: Some("v1:nope"),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            bad,
            HistoryError::InvalidArgument {
                field: "page_token",
                ..
            }
        ),
        "{bad:?}"
    );
    let empty = history::trades_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: Some(end),
            end: Some(start),
            size: 10,
            token: None,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            empty,
            HistoryError::InvalidArgument {
                field: "end_time",
                ..
            }
        ),
        "{empty:?}"
    );
    let unknown = history::trades_page(
        &db.conn,
        &history::PageRequest {
            exchange: Exchange::Korbit,
            market: btc(),
            start: None,
            end: None,
            size: 10,
            token: None,
        },
    )
    .await
    .unwrap();
    assert!(unknown.trades.is_empty() && unknown.next_page_token.is_none());
}
crate::on_both_backends!(trades_page_without_overlap_or_gap);
