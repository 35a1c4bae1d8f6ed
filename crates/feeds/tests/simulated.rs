//! Each exchange's feed against its simulator, over real sockets: subscriptions changed at
//! runtime, reconnect with exact backfill, garbage and duplicate frames, and keepalive past the
//! idle cut. Waits are deadlines on conditions, never timing measurements.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::*;
use tickmesh_domain::{EventKind, Exchange, Market, Payload, UtcMicros};
use tickmesh_feeds::FeedOutput;
use tickmesh_simulator::{Fault, SimulatorConfig};

async fn markets_change_at_runtime(exchange: Exchange) {
    let mut config = SimulatorConfig::new(vec![m("BTC"), m("ETH"), m("XRP")]);
    config.trades_per_second = 90.0;
    let mut rig = Rig::start(exchange, config, |_| {}).await;

    rig.feed.set_markets(set(&["BTC"]));
    rig.until("the first BTC event", is_event_of(m("BTC")))
        .await;
    let window = rig.during(Duration::from_millis(800)).await;
    assert_eq!(markets_of(&window), set(&["BTC"]));
    let kinds: BTreeSet<EventKind> = window
        .iter()
        .filter_map(|o| {
            if let FeedOutput::Event(e) = o {
                Some(e.kind())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        kinds,
        EventKind::ALL.into_iter().collect(),
        "tickers, trades and books all arrive"
    );

    rig.feed.set_markets(set(&["BTC", "ETH"]));
    rig.until("the first ETH event", is_event_of(m("ETH")))
        .await;
    let window = rig.during(Duration::from_millis(800)).await;
    assert_eq!(markets_of(&window), set(&["BTC", "ETH"]));

    rig.feed.set_markets(set(&["ETH"]));
    // Frames already in flight may still name BTC; after a settle they must not.
    rig.during(Duration::from_millis(500)).await;
    let window = rig.during(Duration::from_millis(800)).await;
    assert_eq!(markets_of(&window), set(&["ETH"]));
    assert_eq!(rig.reconnects(), 0, "changing markets never reconnects");
    rig.stop().await;
}

async fn reconnect_backfills_exactly_the_emitted_trades(exchange: Exchange) {
    let mut config = SimulatorConfig::new(vec![m("BTC")]);
    config.trades_per_second = 0.0;
    let mut rig = Rig::start(exchange, config, |_| {}).await;
    let btc = m("BTC");
    rig.feed.set_markets(set(&["BTC"]));
    rig.sim.step();
    let mut received = rig
        .until(
            "the first trade",
            |o| matches!(o, FeedOutput::Event(e) if e.kind() == EventKind::Trade),
        )
        .await;
    let first = trade_ids(&received, btc)[0];

    // Live trades, some of them sent twice by the exchange.
    rig.sim.inject(Fault::Duplicate(4));
    for _ in 0..5 {
        rig.sim.step();
    }
    let last = *rig.sim.emitted_trades(btc).last().unwrap();
    received.extend(rig.until("the live trades", |o| matches!(o, FeedOutput::Event(e) if matches!(&e.payload, Payload::Trade(t) if t.trade_id.0 == last))).await);

    // Drop the connection, trade while the feed is away, let it come back.
    let closed_before = rig.sim.connections_closed();
    rig.sim.inject(Fault::Drop);
    // Trade at once: the connection handles the fault before any event (its select is
    // biased that way), so these trades are made while the feed is away, however fast it
    // comes back.
    for _ in 0..10 {
        rig.sim.step();
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    // Count closes rather than wait for zero connections: the feed may already be back.
    while rig.sim.connections_closed() == closed_before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the simulator never dropped the connection"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let after_gap = rig
        .until("the gap report", |o| matches!(o, FeedOutput::Gap(_)))
        .await;
    let gap = match after_gap.last() {
        Some(FeedOutput::Gap(g)) => *g,
        other => panic!("{other:?}"),
    };
    received.extend(after_gap);
    assert!(
        gap.complete,
        "the REST history reached back past the outage: {gap:?}"
    );
    assert!(gap.backfilled_trades >= 9, "{gap:?}");

    for _ in 0..5 {
        rig.sim.step();
    }
    let last = *rig.sim.emitted_trades(btc).last().unwrap();
    received.extend(rig.until("the trades after the reconnect", |o| matches!(o, FeedOutput::Event(e) if matches!(&e.payload, Payload::Trade(t) if t.trade_id.0 == last))).await);
    received.extend(rig.during(Duration::from_millis(200)).await);

    let got = trade_ids(&received, btc);
    let unique: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "no trade delivered twice: {got:?}");
    let emitted: BTreeSet<u64> = rig
        .sim
        .emitted_trades(btc)
        .into_iter()
        .filter(|id| *id >= first)
        .collect();
    assert_eq!(
        unique,
        emitted,
        "received trade ids equal the emitted ones; received in order: {got:?}; gap: {gap:?}; status: {:?}",
        rig.feed.status().snapshot(UtcMicros::now())
    );
    let status = rig.feed.status().snapshot(UtcMicros::now());
    assert_eq!(status.reconnects, 1);
    assert!(
        status.duplicates >= 1,
        "the duplicated frames were seen and dropped: {status:?}"
    );
    rig.stop().await;
}

async fn garbage_is_counted_and_skipped(exchange: Exchange) {
    let mut config = SimulatorConfig::new(vec![m("BTC")]);
    config.trades_per_second = 0.0;
    let mut rig = Rig::start(exchange, config, |_| {}).await;
    rig.feed.set_markets(set(&["BTC"]));
    rig.sim.step();
    rig.until("the first event", is_event_of(m("BTC"))).await;
    rig.sim.inject(Fault::Garbage(4));
    rig.sim.step();
    let last = *rig.sim.emitted_trades(m("BTC")).last().unwrap();
    rig.until("the trade after the garbage", |o| matches!(o, FeedOutput::Event(e) if matches!(&e.payload, Payload::Trade(t) if t.trade_id.0 == last))).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while rig.feed.status().snapshot(UtcMicros::now()).parse_errors < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the garbage frames were never counted"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // And the stream goes on.
    rig.sim.step();
    let last = *rig.sim.emitted_trades(m("BTC")).last().unwrap();
    rig.until("a trade after the garbage", |o| matches!(o, FeedOutput::Event(e) if matches!(&e.payload, Payload::Trade(t) if t.trade_id.0 == last))).await;
    let status = rig.feed.status().snapshot(UtcMicros::now());
    assert_eq!(status.parse_errors, 4);
    assert_eq!(status.reconnects, 0, "garbage never costs the connection");
    rig.stop().await;
}

/// Quotation exchanges cut sockets without inbound traffic; the feed's pings must keep one
/// alive well past the cut, and without pings the cut must really happen.
async fn kept_alive_past_the_idle_cut(exchange: Exchange) {
    let cut = Duration::from_millis(1200);
    for (pings, expect_cut) in [
        (Duration::from_millis(300), false),
        (Duration::from_secs(3600), true),
    ] {
        let mut config = SimulatorConfig::new(vec![m("BTC")]);
        config.trades_per_second = 0.0;
        config.idle_cut = cut;
        config.up_interval = Duration::from_secs(3600);
        config.server_ping_interval = Duration::from_millis(300);
        let rig = Rig::start(exchange, config, |c| {
            c.ping_interval = pings;
            c.idle_timeout = Duration::from_secs(2);
        })
        .await;
        rig.feed.set_markets(set(&["BTC"]));
        // Snapshots have arrived and the socket is idle: no market data from here on.
        tokio::time::sleep(cut * 4).await;
        let reconnects = rig.reconnects();
        if expect_cut {
            assert!(
                reconnects >= 1,
                "without keepalive the idle socket was cut and replaced"
            );
        } else {
            assert_eq!(
                reconnects, 0,
                "the keepalive held the socket open past the idle cut"
            );
            assert_eq!(rig.sim.connections(), 1);
        }
        rig.stop().await;
    }
}

/// Korbit has no idle cut but pings every 30 s; those pings are the traffic that keeps the
/// feed's own idle watchdog quiet on a silent market.
async fn korbit_server_pings_keep_a_quiet_socket_alive() {
    for (server_pings, expect_reconnect) in [
        (Duration::from_millis(300), false),
        (Duration::from_secs(3600), true),
    ] {
        let mut config = SimulatorConfig::new(vec![m("BTC")]);
        config.trades_per_second = 0.0;
        config.server_ping_interval = server_pings;
        let rig = Rig::start(Exchange::Korbit, config, |c| {
            c.ping_interval = Duration::from_secs(3600);
            c.idle_timeout = Duration::from_secs(1);
        })
        .await;
        rig.feed.set_markets(set(&["BTC"]));
        tokio::time::sleep(Duration::from_secs(3)).await;
        let reconnects = rig.reconnects();
        if expect_reconnect {
            assert!(reconnects >= 1, "a silent socket trips the idle watchdog");
        } else {
            assert_eq!(
                reconnects, 0,
                "server pings are traffic: a quiet market is not a dead socket"
            );
        }
        rig.stop().await;
    }
}

/// A server that stalls (reads nothing, sends nothing, answers no ping) is dead to the feed:
/// the idle watchdog ends the session, the feed reconnects and backfills what traded meanwhile.
async fn a_stalled_server_is_replaced_and_backfilled(exchange: Exchange) {
    let (mut rig, btc) = watching_btc_with_quick_watchdog(exchange).await;
    rig.sim.step();
    // A trade, not merely the subscription's book snapshot: the outage starts after it.
    rig.until("the first trade", is_trade_of(btc)).await;
    stall_and_expect_backfill(rig, btc).await;
}

/// A market that showed no trade before the server stalled still has its outage backfilled,
/// from when the feed began watching it.
async fn a_market_quiet_before_a_stall_is_backfilled(exchange: Exchange) {
    let (mut rig, btc) = watching_btc_with_quick_watchdog(exchange).await;
    // The subscription's snapshot (a book, a ticker; the market has never traded).
    let before = rig.until("the snapshot", is_event_of(btc)).await;
    assert!(
        trade_ids(&before, btc).is_empty(),
        "no trade before the stall"
    );
    stall_and_expect_backfill(rig, btc).await;
}

/// A feed on BTC alone, with nothing traded until a test steps the simulator, pinging every
/// 200 ms and giving up on a silent server after 1 s.
async fn watching_btc_with_quick_watchdog(exchange: Exchange) -> (Rig, Market) {
    let mut config = SimulatorConfig::new(vec![m("BTC")]);
    config.trades_per_second = 0.0;
    let rig = Rig::start(exchange, config, |c| {
        c.ping_interval = Duration::from_millis(200);
        c.idle_timeout = Duration::from_secs(1);
    })
    .await;
    rig.feed.set_markets(set(&["BTC"]));
    (rig, m("BTC"))
}

/// Stalls the server, trades three times meanwhile, and expects the gap report and those
/// trades once the feed has replaced the session.
async fn stall_and_expect_backfill(mut rig: Rig, btc: Market) {
    rig.sim.inject(Fault::Stall(Duration::from_secs(4)));
    for _ in 0..3 {
        rig.sim.step();
    }
    let mut gap = rig
        .until("the gap report", |o| matches!(o, FeedOutput::Gap(_)))
        .await;
    gap.extend(rig.during(Duration::from_millis(300)).await);
    assert!(rig.reconnects() >= 1, "the stalled session was replaced");
    let backfilled = trade_ids(&gap, btc);
    let emitted = rig.sim.emitted_trades(btc);
    for id in &emitted[emitted.len() - 3..] {
        assert!(
            backfilled.contains(id),
            "trade {id} traded during the stall was backfilled"
        );
    }
    rig.stop().await;
}

/// With a read pause the feed reads what its socket holds in bursts, a pause apart, and
/// still delivers every trade once and in order; without one it reads frames as they come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_pause_reads_in_bursts_and_loses_nothing() {
    let btc = m("BTC");
    let eth = m("ETH");
    for (pause, bursts) in [(Duration::ZERO, 0..5), (Duration::from_millis(100), 12..25)] {
        // Rounds every 10 ms: without a pause, frames come ~10 ms apart.
        let mut config = SimulatorConfig::new(vec![btc, eth]);
        config.trades_per_second = 200.0;
        let mut rig = Rig::start(Exchange::Upbit, config, |c| c.read_pause = pause).await;
        rig.feed.set_markets(set(&["BTC", "ETH"]));
        let mut received = rig.until("the first BTC trade", is_trade_of(btc)).await;
        let window = rig.during(Duration::from_secs(2)).await;
        let times: Vec<i64> = window
            .iter()
            .filter_map(|o| match o {
                FeedOutput::Event(e) => Some(e.received_time.as_micros()),
                _ => None,
            })
            .collect();
        // A burst ends where the next frame was read more than half a pause later.
        let gaps = times.windows(2).filter(|w| w[1] - w[0] > 50_000).count();
        assert!(
            bursts.contains(&gaps),
            "pause {pause:?}: {gaps} gaps over 50 ms among {} events, expected {bursts:?}",
            times.len()
        );
        received.extend(window);
        // Stopped, so what it emitted is final while the feed reads the rest.
        rig.sim.pause();
        rig.catch_up(&mut received, &[btc, eth]).await;
        for market in [btc, eth] {
            let got = trade_ids(&received, market);
            let emitted = rig.sim.emitted_trades(market);
            let first = emitted.iter().position(|id| *id == got[0]).unwrap();
            assert_eq!(
                got,
                emitted[first..],
                "{market}: every trade once, in order"
            );
        }
        assert_eq!(rig.reconnects(), 0);
        rig.stop().await;
    }
}

macro_rules! per_exchange {
    ($($name:ident => $exchange:expr),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn markets_change_at_runtime() {
                super::markets_change_at_runtime($exchange).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn reconnect_backfills_exactly_the_emitted_trades() {
                super::reconnect_backfills_exactly_the_emitted_trades($exchange).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_stalled_server_is_replaced_and_backfilled() {
                super::a_stalled_server_is_replaced_and_backfilled($exchange).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_market_quiet_before_a_stall_is_backfilled() {
                super::a_market_quiet_before_a_stall_is_backfilled($exchange).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn garbage_is_counted_and_skipped() {
                super::garbage_is_counted_and_skipped($exchange).await;
            }
        }
    )*};
}

per_exchange!(upbit => Exchange::Upbit, bithumb => Exchange::Bithumb, korbit => Exchange::Korbit);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upbit_is_kept_alive_past_the_idle_cut() {
    kept_alive_past_the_idle_cut(Exchange::Upbit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bithumb_is_kept_alive_past_the_idle_cut() {
    kept_alive_past_the_idle_cut(Exchange::Bithumb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn korbit_quiet_socket_is_kept_alive() {
    korbit_server_pings_keep_a_quiet_socket_alive().await;
}
