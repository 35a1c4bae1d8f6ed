//! Latest tickers without a best bid or ask take both from the latest stored order book of
//! their exchange and market, with that book's time; tickers that carry both keep them.

use tickmesh_domain::{
    Exchange, Level, Market, MarketEvent, OrderBook, Payload, Ticker, UtcMicros,
};
use tickmesh_storage::{MarketStore, StoreConfig, history};

use super::fixtures::{SECOND, eth, exact, last_only, on};
use super::ticker_pages::write_tickers;
use crate::common::{MINUTE, TestDb, book_times, btc, d, event};

/// A book of `market` on `exchange` at `time` with bids and asks at these prices.
fn book(
    exchange: Exchange,
    market: Market,
    time: i64,
    bids: &[&str],
    asks: &[&str],
) -> MarketEvent {
    let levels = |prices: &[&str]| {
        prices
            .iter()
            .map(|p| Level {
                price: d(p),
                size: d("1.5"),
            })
            .collect()
    };
    let payload = Payload::OrderBook(OrderBook {
        bids: levels(bids),
        asks: levels(asks),
    });
    on(exchange, market, event(time, payload))
}

/// Books and one more ticker over [`write_tickers`]' data:
/// * Bithumb BTC/KRW (ticker without a quote): books at +5 s and +10 s;
/// * Upbit BTC/KRW (ticker with an ask but no bid): a book older than the ticker;
/// * Korbit BTC/KRW: a ticker with both bid and ask at +4 s, and a book that must not win;
/// * Korbit ETH/KRW: a book without asks;
/// * Upbit ETH/KRW: no book at all.
pub async fn write_books(db: &TestDb) {
    write_tickers(db).await;
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let quoted = Ticker {
        best_bid: Some(d("158149000.0")),
        best_ask: Some(d("158151000")),
        ..last_ticker("158150000")
    };
    let korbit = on(
        Exchange::Korbit,
        btc(),
        event(MINUTE + 4 * SECOND, Payload::Ticker(quoted)),
    );
    store
        .write(&[
            book(
                Exchange::Bithumb,
                btc(),
                MINUTE + 5 * SECOND,
                &["9"],
                &["10"],
            ),
            book(
                Exchange::Bithumb,
                btc(),
                MINUTE + 10 * SECOND,
                &["158090000.50", "158080000"],
                &["158110000", "158120000"],
            ),
            book(
                Exchange::Upbit,
                btc(),
                MINUTE + SECOND,
                &["158190000"],
                &["158210000.00"],
            ),
            korbit,
            book(Exchange::Korbit, btc(), MINUTE + 5 * SECOND, &["1"], &["2"]),
            book(Exchange::Korbit, eth(), MINUTE, &["3999000"], &[]),
        ])
        .await
        .unwrap();
}

fn last_ticker(last: &str) -> Ticker {
    let Payload::Ticker(ticker) = last_only(0, last).payload else {
        unreachable!()
    };
    ticker
}

fn quote(ticker: &Ticker) -> [Option<String>; 2] {
    [ticker.best_bid, ticker.best_ask].map(|p| p.map(|p| p.to_string()))
}

async fn latest_tickers_take_the_quote_from_the_latest_book(db: TestDb) {
    write_books(&db).await;
    let bithumb_books = [5, 10].map(|s| MINUTE + s * SECOND);
    assert_eq!(book_times(&db, Exchange::Bithumb).await, bithumb_books);
    let latest = history::latest_tickers(&db.conn, btc()).await.unwrap();
    let [upbit, bithumb, korbit] = &latest.tickers[..] else {
        panic!("{latest:?}");
    };

    let book_quote = |bid: &str, ask: &str| [Some(bid.to_owned()), Some(ask.to_owned())];
    assert_eq!(bithumb.ticker.exchange, Exchange::Bithumb);
    assert_eq!(
        quote(&bithumb.ticker.data),
        book_quote("158090000.50", "158110000")
    );
    assert_eq!(bithumb.book_time, Some(UtcMicros(MINUTE + 10 * SECOND)));
    // The rest of the ticker is its own.
    assert_eq!(bithumb.ticker.exchange_time, UtcMicros(MINUTE + 500));
    exact(bithumb.ticker.data.last, "158100000");

    // The ask the ticker had is replaced too: bid and ask are one book's quote.
    assert_eq!(
        quote(&upbit.ticker.data),
        book_quote("158190000", "158210000.00")
    );
    assert_eq!(upbit.book_time, Some(UtcMicros(MINUTE + SECOND)));
    assert_eq!(upbit.ticker.exchange_time, UtcMicros(MINUTE + 2 * SECOND));

    assert_eq!(
        quote(&korbit.ticker.data),
        book_quote("158149000.0", "158151000")
    );
    assert_eq!(korbit.book_time, None);
    assert_eq!(korbit.ticker.exchange_time, UtcMicros(MINUTE + 4 * SECOND));

    // The spread is of last prices, whatever the quotes.
    let spread = latest.spread.unwrap();
    assert_eq!(
        (spread.highest, spread.lowest),
        (Exchange::Upbit, Exchange::Bithumb)
    );
    exact(spread.absolute, "101000.00000000");

    let eth = history::latest_tickers(&db.conn, eth()).await.unwrap();
    let [upbit, korbit] = &eth.tickers[..] else {
        panic!("{eth:?}");
    };
    // No book stored: the ticker as it is.
    assert_eq!(quote(&upbit.ticker.data), [None, None]);
    assert_eq!(upbit.book_time, None);
    // A book with no asks gives no ask.
    assert_eq!(
        quote(&korbit.ticker.data),
        [Some("3999000".to_owned()), None]
    );
    assert_eq!(korbit.book_time, Some(UtcMicros(MINUTE)));
}
crate::on_both_backends!(latest_tickers_take_the_quote_from_the_latest_book);
