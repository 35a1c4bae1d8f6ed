use std::time::Duration;

use tickmesh_domain::{Decimal, Level, OrderBook, Payload, Side, Trade, TradeId, UtcMicros};

use super::*;

fn m(name: &str) -> Market {
    Market::parse(name).unwrap()
}

const NOW: UtcMicros = UtcMicros(1_790_000_000_000_000);

fn trade(market: &str, time: UtcMicros, price: Decimal) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Upbit,
        market: m(market),
        exchange_time: time,
        received_time: NOW,
        payload: Payload::Trade(Trade {
            trade_id: TradeId(1),
            price,
            size: Decimal::ONE,
            side: Side::Buy,
        }),
        raw: None,
    }
}

fn book(levels: usize) -> MarketEvent {
    let level = Level {
        price: Decimal::ONE,
        size: Decimal::ONE,
    };
    MarketEvent {
        payload: Payload::OrderBook(OrderBook {
            bids: vec![level; levels],
            asks: vec![level; 1],
        }),
        ..trade("BTC", NOW, Decimal::ONE)
    }
}

fn refused_for(verdict: Verdict) -> RejectReason {
    match verdict {
        Verdict::Refuse(refusal) => refusal.reason(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn live_events_must_be_subscribed_and_within_bounds() {
    let mut gate = Gate::new(EventBounds::default());
    gate.set_subscribed(&[m("BTC"), m("ETH")], Instant::now());
    assert_eq!(gate.live(&trade("BTC", NOW, Decimal::ONE)), Verdict::Admit);
    assert_eq!(
        refused_for(gate.live(&trade("FAKE1", NOW, Decimal::ONE))),
        RejectReason::Unsubscribed
    );
    let huge = Decimal::MAX;
    assert_eq!(
        refused_for(gate.live(&trade("BTC", NOW, huge))),
        RejectReason::BadValue
    );
    let in_2100 = UtcMicros::from_millis(4_102_444_800_000);
    assert_eq!(
        refused_for(gate.live(&trade("ETH", in_2100, Decimal::ONE))),
        RejectReason::TimeSkew
    );
    let negative = UtcMicros::from_millis(-9_999_999_999_999_999);
    assert_eq!(
        refused_for(gate.live(&trade("ETH", negative, Decimal::ONE))),
        RejectReason::TimeSkew
    );
    // Five minutes either way is the default skew.
    let stale = NOW.add_micros(-301_000_000);
    assert_eq!(
        refused_for(gate.live(&trade("BTC", stale, Decimal::ONE))),
        RejectReason::TimeSkew
    );
    let recent = NOW.add_micros(-299_000_000);
    assert_eq!(
        gate.live(&trade("BTC", recent, Decimal::ONE)),
        Verdict::Admit
    );
    assert_eq!(gate.live(&book(30)), Verdict::Admit);
    assert_eq!(refused_for(gate.live(&book(31))), RejectReason::BookDepth);
}

#[test]
fn a_market_just_unsubscribed_is_dropped_quietly_for_a_grace_period() {
    let mut gate = Gate::new(EventBounds::default());
    let t0 = Instant::now();
    gate.set_subscribed(&[m("BTC"), m("ETH")], t0);
    gate.set_subscribed(&[m("ETH")], t0);
    let btc = trade("BTC", NOW, Decimal::ONE);
    assert_eq!(gate.live_at(&btc, || t0), Verdict::Leaving);
    assert!(!gate.subscribes(&m("BTC")));
    let after = t0 + LEAVING_GRACE + Duration::from_millis(1);
    assert_eq!(
        refused_for(gate.live_at(&btc, || after)),
        RejectReason::Unsubscribed
    );
    // Subscribed again, it is admitted; the next change prunes what expired.
    gate.set_subscribed(&[m("ETH"), m("BTC")], after);
    assert_eq!(gate.live_at(&btc, || after), Verdict::Admit);
    assert!(gate.leaving.is_empty());
    // A market leaving and coming back within the grace is not listed as leaving.
    gate.set_subscribed(&[m("ETH")], after);
    assert_eq!(gate.leaving.len(), 1);
    gate.set_subscribed(&[m("ETH"), m("BTC")], after);
    assert!(gate.leaving.is_empty());
}

#[test]
fn backfilled_trades_may_be_old_but_not_from_the_future() {
    let mut gate = Gate::new(EventBounds::default());
    gate.set_subscribed(&[m("BTC")], Instant::now());
    let day_old = trade("BTC", NOW.add_micros(-86_400_000_000), Decimal::ONE);
    assert_eq!(gate.backfilled(&day_old), Ok(()));
    let in_2100 = trade(
        "BTC",
        UtcMicros::from_millis(4_102_444_800_000),
        Decimal::ONE,
    );
    assert_eq!(
        gate.backfilled(&in_2100).map_err(|r| r.reason()),
        Err(RejectReason::TimeSkew)
    );
    let negative = trade("BTC", UtcMicros(i64::MIN), Decimal::ONE);
    assert_eq!(
        gate.backfilled(&negative).map_err(|r| r.reason()),
        Err(RejectReason::TimeSkew)
    );
    let zero = trade("BTC", NOW, Decimal::ZERO);
    assert_eq!(
        gate.backfilled(&zero).map_err(|r| r.reason()),
        Err(RejectReason::BadValue)
    );
}

#[test]
fn refusals_are_counted_per_reason() {
    let status = FeedStatus::new(Exchange::Korbit);
    let oversize = Refusal::Oversize {
        bytes: 2_000_000,
        limit: 1_048_576,
    };
    assert_eq!(
        oversize.to_string(),
        "frame of 2000000 bytes is over the limit of 1048576"
    );
    for _ in 0..3 {
        refused(&status, Exchange::Korbit, None, &oversize);
    }
    refused(
        &status,
        Exchange::Korbit,
        Some(m("FAKE1")),
        &Refusal::Unsubscribed,
    );
    let snap = status.snapshot(NOW);
    assert_eq!(snap.rejected(RejectReason::Oversize), 3);
    assert_eq!(snap.rejected(RejectReason::Unsubscribed), 1);
    assert_eq!(snap.rejected_total(), 4);
}

#[test]
fn the_socket_reads_four_times_the_frame_limit_at_most() {
    let limits = EdgeLimits::default();
    assert_eq!(limits.max_frame_bytes, 1 << 20);
    assert_eq!(limits.hard_cap(), 4 << 20);
    let huge = EdgeLimits {
        max_frame_bytes: usize::MAX,
        ..limits
    };
    assert_eq!(huge.hard_cap(), usize::MAX);
}
