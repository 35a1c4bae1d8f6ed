//! What the feed tests against the simulators share: a feed on a simulator and waits on its
//! output. Waits are deadlines on conditions, never timing measurements.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tickmesh_domain::{Exchange, Market, Payload, UtcMicros};
use tickmesh_feeds::{
    BackoffConfig, FeedConfig, FeedHandle, FeedOutput, FeedSnapshot, RestClient, protocol_for,
    spawn_feed,
};
use tickmesh_simulator::{Simulator, SimulatorConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const PATIENCE: Duration = Duration::from_secs(15);

pub fn m(name: &str) -> Market {
    Market::parse(name).unwrap()
}

/// A one-word summary of a feed output, for failure messages.
pub fn short(out: &FeedOutput) -> String {
    match out {
        FeedOutput::Event(e) => format!("{}:{}", e.exchange, e.kind()),
        FeedOutput::Gap(g) => format!("gap:{}:{}", g.exchange, g.backfilled_trades),
        FeedOutput::RecoveryStarted { market, .. } => format!("recovering:{market}"),
        FeedOutput::RecoveryFinished { market, .. } => format!("recovered:{market}"),
    }
}

pub fn set(names: &[&str]) -> BTreeSet<Market> {
    names.iter().map(|n| m(n)).collect()
}

pub struct Rig {
    pub sim: Simulator,
    pub feed: FeedHandle,
    pub rx: mpsc::Receiver<FeedOutput>,
    pub stop: CancellationToken,
}

impl Rig {
    pub async fn start(
        exchange: Exchange,
        sim: SimulatorConfig,
        tweak: impl FnOnce(&mut FeedConfig),
    ) -> Rig {
        // The feed's own log, shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("tickmesh_feeds=debug")
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(exchange, sim, listener).unwrap();
        let mut config = FeedConfig::new(exchange, sim.ws_url());
        config.backoff = BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(300),
        };
        tweak(&mut config);
        let history = Arc::new(RestClient::new(exchange, sim.rest_url()).unwrap());
        let (tx, rx) = mpsc::channel(10_000);
        let stop = CancellationToken::new();
        let feed = spawn_feed(config, protocol_for(exchange), history, tx, stop.clone());
        Rig {
            sim,
            feed,
            rx,
            stop,
        }
    }

    /// Receives until `done` says so, failing after the patience runs out.
    pub async fn until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&FeedOutput) -> bool,
    ) -> Vec<FeedOutput> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let out = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(out) => out.expect("feed output closed"),
                Err(_) => {
                    // Say what did happen, so an intermittent failure can be diagnosed.
                    let status = self
                        .feed
                        .status()
                        .snapshot(tickmesh_domain::UtcMicros::now());
                    panic!(
                        "timed out waiting for {what}; saw {} outputs since ({:?}); feed {:?}, \
                         reconnects {}, last disconnect {:?}; simulator connections {} \
                         (closed {})",
                        seen.len(),
                        seen.iter().map(short).collect::<Vec<_>>(),
                        status.state,
                        status.reconnects,
                        status.last_disconnect_reason,
                        self.sim.connections(),
                        self.sim.connections_closed(),
                    )
                }
            };
            let stop = done(&out);
            seen.push(out);
            if stop {
                return seen;
            }
        }
    }

    /// Everything that arrives within `window`.
    pub async fn during(&mut self, window: Duration) -> Vec<FeedOutput> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(out)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            seen.push(out);
        }
        seen
    }

    pub fn reconnects(&self) -> u64 {
        self.status().reconnects
    }

    /// The feed's status now.
    pub fn status(&self) -> FeedSnapshot {
        self.feed.status().snapshot(UtcMicros::now())
    }

    /// Receives until trade `id` of `market` arrives.
    pub async fn until_trade(&mut self, market: Market, id: u64) -> Vec<FeedOutput> {
        self.until(&format!("trade {id} of {market}"), move |o| {
            matches!(o, FeedOutput::Event(e) if e.market == market
                && matches!(&e.payload, Payload::Trade(t) if t.trade_id.0 == id))
        })
        .await
    }

    /// Receives into `received` until it holds the latest trade the simulator emitted for
    /// each of `markets`.
    pub async fn catch_up(&mut self, received: &mut Vec<FeedOutput>, markets: &[Market]) {
        for &market in markets {
            let last = *self.sim.emitted_trades(market).last().unwrap();
            if !trade_ids(received, market).contains(&last) {
                received.extend(self.until_trade(market, last).await);
            }
        }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.feed.join().await;
        self.sim.shutdown().await;
    }
}

/// Polls `condition` until it holds, failing with `what` after the patience runs out.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn markets_of(outputs: &[FeedOutput]) -> BTreeSet<Market> {
    outputs
        .iter()
        .filter_map(|o| match o {
            FeedOutput::Event(e) => Some(e.market),
            _ => None,
        })
        .collect()
}

pub fn trade_ids(outputs: &[FeedOutput], market: Market) -> Vec<u64> {
    outputs
        .iter()
        .filter_map(|o| match o {
            FeedOutput::Event(e) if e.market == market => match &e.payload {
                Payload::Trade(t) => Some(t.trade_id.0),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

pub fn is_event_of(market: Market) -> impl FnMut(&FeedOutput) -> bool {
    move |o| matches!(o, FeedOutput::Event(e) if e.market == market)
}

pub fn is_trade_of(market: Market) -> impl FnMut(&FeedOutput) -> bool {
    move |o| {
        matches!(o, FeedOutput::Event(e)
            if e.market == market && matches!(e.payload, Payload::Trade(_)))
    }
}
