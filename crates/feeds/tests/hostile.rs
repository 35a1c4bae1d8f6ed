//! Each exchange's feed against a hostile simulator, over real sockets: every poison frame is
//! refused and counted under its reason while the connection and the trades go on, a frame
//! past the socket's hard cap costs only a reconnect that backfills, and a stalled REST
//! answer never stalls the socket. Waits are deadlines on conditions, never timing
//! measurements.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::*;
use tickmesh_domain::{Exchange, Market, RejectReason};
use tickmesh_feeds::{FeedOutput, FeedSnapshot};
use tickmesh_simulator::{Fault, POISON_ID_BASE, Poison, SimulatorConfig};

/// The counter a poison must move: a rejection reason, or the parse errors.
fn counted(poison: Poison, s: &FeedSnapshot) -> u64 {
    match poison {
        Poison::NegativeTime | Poison::FarFuture => s.rejected(RejectReason::TimeSkew),
        Poison::HugePrice => s.rejected(RejectReason::BadValue),
        Poison::DeepBook => s.rejected(RejectReason::BookDepth),
        Poison::DeepNesting => s.parse_errors,
        Poison::Unsubscribed => s.rejected(RejectReason::Unsubscribed),
        Poison::Oversize => s.rejected(RejectReason::Oversize),
    }
}

/// The trades received of each of `markets` are exactly those the simulator emitted from the
/// first one received on: none lost, none twice, no poison among them.
fn assert_exactly_the_emitted_trades(rig: &Rig, received: &[FeedOutput], markets: &[Market]) {
    for &market in markets {
        let got = trade_ids(received, market);
        let unique: BTreeSet<u64> = got.iter().copied().collect();
        assert_eq!(unique.len(), got.len(), "no trade delivered twice: {got:?}");
        assert!(got.iter().all(|id| *id < POISON_ID_BASE), "{got:?}");
        let first = *unique.first().expect("some trades arrived");
        let emitted: BTreeSet<u64> = rig
            .sim
            .emitted_trades(market)
            .into_iter()
            .filter(|id| *id >= first)
            .collect();
        assert_eq!(unique, emitted, "{market}: received equals emitted");
    }
}

async fn every_poison_is_refused_while_trades_flow(exchange: Exchange) {
    let mut config = SimulatorConfig::new(vec![m("BTC"), m("ETH"), m("XRP")]);
    config.trades_per_second = 60.0;
    let mut rig = Rig::start(exchange, config, |_| {}).await;
    let (btc, eth) = (m("BTC"), m("ETH"));
    rig.feed.set_markets(set(&["BTC", "ETH"]));
    let mut received = rig.until("a trade of BTC", is_trade_of(btc)).await;
    received.extend(rig.until("a trade of ETH", is_trade_of(eth)).await);

    // One poison after another while trades flow: each is counted before the next goes out.
    for poison in Poison::ALL {
        let before = counted(poison, &rig.status());
        rig.sim.inject(Fault::Poison(poison));
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while counted(poison, &rig.status()) == before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{poison:?} was never counted: {:?}",
                rig.status()
            );
            received.extend(rig.during(Duration::from_millis(20)).await);
        }
    }
    // The stream goes on after all of them.
    received.extend(
        rig.until("a trade after the poison", is_trade_of(btc))
            .await,
    );
    rig.sim.pause();
    rig.catch_up(&mut received, &[btc, eth]).await;
    received.extend(rig.during(Duration::from_millis(200)).await);

    assert_eq!(markets_of(&received), set(&["BTC", "ETH"]));
    assert_exactly_the_emitted_trades(&rig, &received, &[btc, eth]);
    let status = rig.status();
    assert_eq!(status.reconnects, 0, "no poison costs the connection");
    assert_eq!(status.parse_errors, 1, "the deep nesting: {status:?}");
    let expected = [
        (RejectReason::Oversize, 1),
        (RejectReason::BookDepth, 1),
        (RejectReason::TimeSkew, 2),
        (RejectReason::BadValue, 1),
        (RejectReason::Unsubscribed, 1),
    ];
    for (reason, count) in expected {
        assert_eq!(status.rejected(reason), count, "{reason}: {status:?}");
    }
    rig.stop().await;
}

/// A frame past the hard cap (four times the frame limit) is never buffered: the socket gives
/// up on it, the feed counts it as oversize, reconnects and backfills what it missed.
async fn a_frame_past_the_hard_cap_costs_a_reconnect_and_nothing_else(exchange: Exchange) {
    let mut config = SimulatorConfig::new(vec![m("BTC")]);
    config.trades_per_second = 0.0;
    // 256 KiB: the hard cap is 1 MiB, below the 2 MiB oversize frame.
    let mut rig = Rig::start(exchange, config, |c| c.edge.max_frame_bytes = 256 * 1024).await;
    let btc = m("BTC");
    rig.feed.set_markets(set(&["BTC"]));
    rig.sim.step();
    let mut received = rig.until("the first trade", is_trade_of(btc)).await;
    rig.sim.inject(Fault::Poison(Poison::Oversize));
    for _ in 0..5 {
        rig.sim.step();
    }
    received.extend(
        rig.until("the gap report", |o| matches!(o, FeedOutput::Gap(_)))
            .await,
    );
    for _ in 0..3 {
        rig.sim.step();
    }
    rig.catch_up(&mut received, &[btc]).await;
    received.extend(rig.during(Duration::from_millis(200)).await);
    assert_exactly_the_emitted_trades(&rig, &received, &[btc]);
    let status = rig.status();
    assert_eq!(status.reconnects, 1);
    assert_eq!(status.rejected(RejectReason::Oversize), 1, "{status:?}");
    let reason = status.last_disconnect_reason.unwrap_or_default();
    assert!(reason.contains("hard size cap"), "{reason}");
    rig.stop().await;
}

/// REST answers that take longer than the idle timeout do not cut the socket: backfill runs
/// beside it, live trades keep arriving meanwhile, and the outage is still recovered.
async fn a_stalled_rest_answer_does_not_stall_the_socket(exchange: Exchange) {
    let mut config = SimulatorConfig::new(vec![m("BTC")]);
    config.trades_per_second = 0.0;
    let mut rig = Rig::start(exchange, config, |c| {
        c.ping_interval = Duration::from_millis(200);
        c.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let btc = m("BTC");
    rig.feed.set_markets(set(&["BTC"]));
    rig.sim.step();
    let mut received = rig.until("the first trade", is_trade_of(btc)).await;

    // REST now answers after four idle timeouts; then the connection drops, trades are made
    // while the feed is away, and it comes back and backfills.
    rig.sim.set_rest_delay(Duration::from_secs(4));
    let closed = rig.sim.connections_closed();
    rig.sim.inject(Fault::Drop);
    for _ in 0..3 {
        rig.sim.step();
    }
    eventually("the drop", || rig.sim.connections_closed() > closed).await;
    eventually("the resubscription", || {
        rig.sim.subscribed_markets().contains(&btc)
    })
    .await;
    // Live trades while the backfill waits for REST: they arrive before its gap report.
    for _ in 0..5 {
        rig.sim.step();
    }
    let mut live = Vec::new();
    rig.catch_up(&mut live, &[btc]).await;
    assert!(
        !live.iter().any(|o| matches!(o, FeedOutput::Gap(_))),
        "live trades arrived while REST was stalled: {:?}",
        live.iter().map(short).collect::<Vec<_>>()
    );
    received.extend(live);
    received.extend(
        rig.until("the gap report", |o| matches!(o, FeedOutput::Gap(_)))
            .await,
    );
    received.extend(rig.during(Duration::from_millis(200)).await);
    assert_exactly_the_emitted_trades(&rig, &received, &[btc]);
    assert_eq!(
        rig.reconnects(),
        1,
        "only the drop reconnected, no idle cut"
    );
    rig.stop().await;
}

macro_rules! per_exchange {
    ($($name:ident => $exchange:expr),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn every_poison_is_refused_while_trades_flow() {
                super::every_poison_is_refused_while_trades_flow($exchange).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_frame_past_the_hard_cap_costs_a_reconnect_and_nothing_else() {
                super::a_frame_past_the_hard_cap_costs_a_reconnect_and_nothing_else($exchange)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_stalled_rest_answer_does_not_stall_the_socket() {
                super::a_stalled_rest_answer_does_not_stall_the_socket($exchange).await;
            }
        }
    )*};
}

per_exchange!(upbit => Exchange::Upbit, bithumb => Exchange::Bithumb, korbit => Exchange::Korbit);
