//! The [`EventArchive`] contract. The caller keeps [`sample`] in its archive the way that
//! archive is filled (storage's writer for the database), then runs [`run`].

// Test code only (behind the `conformance` feature): a panic is how the suite reports a
// broken contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tickmesh_bus::Position;
use tickmesh_domain::{
    EventKind, Exchange, Market, MarketEvent, Payload, Side, Ticker, Trade, TradeId, UtcMicros,
    parse_decimal,
};

use super::{ArchiveQuery, EventArchive};
use crate::stream::TickFilter;

/// Forty events at positions `base-0`, `base-1`, ...: trades and tickers on Upbit and
/// Bithumb in BTC/KRW and ETH/KRW, with exchange times a second apart from `base` ms, and
/// decimals every digit of which must be kept.
pub fn sample(base_ms: u64) -> Vec<(Position, MarketEvent)> {
    (0..40u64)
        .map(|i| {
            let exchange = if i % 2 == 0 {
                Exchange::Upbit
            } else {
                Exchange::Bithumb
            };
            let market = Market::parse(if i % 4 < 2 { "BTC/KRW" } else { "ETH/KRW" }).unwrap();
            let micros = i64::try_from(base_ms * 1000 + i * 1_000_000).unwrap();
            let payload = if i % 3 == 0 {
                Payload::Ticker(Ticker {
                    last: parse_decimal(&format!("116539000.{i:04}")).unwrap(),
                    high: Some(parse_decimal("117000000").unwrap()),
                    volume_24h: Some(parse_decimal("1234.56789012").unwrap()),
                    ..Ticker::default()
                })
            } else {
                Payload::Trade(Trade {
                    trade_id: TradeId(17_300_000_000_000_000 + i),
                    price: parse_decimal(&format!("116539000.{i:02}")).unwrap(),
                    size: parse_decimal("0.00079276").unwrap(),
                    side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                })
            };
            let event = MarketEvent {
                exchange,
                market,
                exchange_time: UtcMicros(micros),
                received_time: UtcMicros(micros + 150),
                payload,
                raw: None,
            };
            (
                Position {
                    ms: base_ms,
                    seq: i,
                },
                event,
            )
        })
        .collect()
}

fn query(after: Position, through: Position) -> ArchiveQuery {
    ArchiveQuery {
        filter: TickFilter::all(),
        after,
        through,
        since: None,
        limit: 1000,
    }
}

/// Checks an archive holding exactly `sample(base_ms)` (and nothing else in its position
/// range) that never dropped anything.
pub async fn run(archive: &dyn EventArchive, base_ms: u64) {
    let kept = sample(base_ms);
    let first = Position::at_ms(base_ms);
    let last = Position {
        ms: base_ms,
        seq: 39,
    };
    let all = archive
        .events(&query(
            Position {
                ms: base_ms - 1,
                seq: 0,
            },
            last,
        ))
        .await
        .unwrap();
    assert_eq!(all, kept, "every kept event, in position order, as kept");
    assert_eq!(archive.dropped_through().await.unwrap(), None);
    assert_eq!(archive.stored_through().await.unwrap(), Some(last));

    let some = archive.events(&query(kept[4].0, kept[9].0)).await.unwrap();
    assert_eq!(some, kept[5..10], "after is exclusive, through inclusive");
    let mut limited = query(first, last);
    limited.limit = 3;
    assert_eq!(archive.events(&limited).await.unwrap(), kept[1..4]);

    let mut filtered = query(Position::ZERO, last);
    filtered.filter.exchanges.insert(Exchange::Bithumb);
    filtered
        .filter
        .markets
        .insert(Market::parse("ETH/KRW").unwrap());
    filtered.filter.kinds.insert(EventKind::Trade);
    let want: Vec<_> = kept
        .iter()
        .filter(|(_, e)| {
            e.exchange == Exchange::Bithumb
                && e.market.to_string() == "ETH/KRW"
                && e.kind() == EventKind::Trade
        })
        .cloned()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(archive.events(&filtered).await.unwrap(), want);

    let mut since = query(Position::ZERO, last);
    since.since = Some(kept[30].1.exchange_time);
    assert_eq!(archive.events(&since).await.unwrap(), kept[30..]);
}
