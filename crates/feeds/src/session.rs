//! One WebSocket session: subscribe, stay alive, follow the desired set, parse, check, and
//! report why it ended.
//!
//! A session never reconnects by itself; [`crate::feed`] decides what to do with its
//! [`SessionEnd`]. Everything it reads passes the [`crate::edge`] checks before the deduper;
//! backfill runs in a task of its own (`recovery`) while the session goes on reading.

mod end;
mod inbound;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt as _, SinkExt, StreamExt};
use tickmesh_domain::{Market, MarketEvent, TradeId, UtcMicros};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

pub use end::SessionEnd;

use crate::config::{FeedConfig, FeedOutput};
use crate::dedupe::{LastTrade, TradeDeduper};
use crate::edge::Gate;
use crate::protocol::{TradeHistory, WireProtocol};
use crate::ratelimit::MessageRateLimiter;
use crate::recovery::{Outage, Recovered, Recovery, Unrecovered};
use crate::status::FeedStatus;

/// The socket type sessions run on.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Everything a session borrows from its feed.
pub(crate) struct SessionContext<'a> {
    pub config: &'a FeedConfig,
    pub protocol: &'a mut dyn WireProtocol,
    pub history: &'a Arc<dyn TradeHistory>,
    pub desired: &'a mut watch::Receiver<BTreeSet<Market>>,
    pub out: &'a mpsc::Sender<FeedOutput>,
    pub status: &'a FeedStatus,
    pub dedupe: &'a mut TradeDeduper,
    pub shutdown: &'a CancellationToken,
    pub limiter: &'a mut MessageRateLimiter,
    /// Outages not yet recovered, kept across sessions.
    pub unrecovered: &'a mut Unrecovered,
    /// Whether the startup window is still to be recovered (until a backfill starts).
    pub startup_due: &'a mut bool,
}

/// The most frames read in one burst before the session looks at its other duties (pings,
/// shutdown, subscription changes) again.
const DRAIN_MAX: usize = 1_024;

/// How long backfill waits for the exchange to confirm the resubscription after a reconnect.
const BACKFILL_CONFIRM_WAIT: Duration = Duration::from_secs(5);

impl SessionContext<'_> {
    /// Runs a session on an open socket until it ends. `reconnected` triggers backfill.
    pub(crate) async fn run(&mut self, mut ws: Socket, reconnected: bool) -> SessionEnd {
        self.protocol.reset();
        let mut current: BTreeSet<Market> = BTreeSet::new();
        let mut gate = Gate::new(self.config.edge.bounds);
        let mut pending_change = true;
        if reconnected {
            // Where each market's outage began: the newest trade seen before this session, or
            // when the market was first watched if it showed no trade. Taken now, because the
            // new session's first frames (an exchange's snapshot of its latest trade) would
            // otherwise move it past the trades made during the outage.
            for (market, since) in self.dedupe.outage_starts() {
                let outage = Outage {
                    since,
                    report_gap: true,
                    gap_from: None,
                };
                self.unrecovered.add(market, outage);
            }
        }
        let mut backfill_due = *self.startup_due || !self.unrecovered.is_empty();
        // Set once the subscription request is out: backfill starts when the exchange confirms
        // it, or at this deadline if it never does.
        let mut backfill_deadline: Option<Instant> = None;
        let mut recovery: Option<Recovery> = None;
        let mut last_inbound = Instant::now();
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.reset();
        let mut events: Vec<MarketEvent> = Vec::with_capacity(64);
        // Set while the session pauses between bursts of reads (`FeedConfig::read_pause`).
        let mut paused_until: Option<Instant> = None;
        loop {
            if pending_change {
                let desired = self.desired.borrow_and_update().clone();
                if desired.is_empty() {
                    let _ = ws.close(None).await;
                    return SessionEnd::Unsubscribed;
                }
                let wait = self.limiter.delay_until_allowed(Instant::now());
                if wait.is_zero() {
                    pending_change = false;
                    if let Err(end) = self.resubscribe(&mut ws, &current, &desired).await {
                        return end;
                    }
                    self.dedupe.retain_markets(|m| desired.contains(m));
                    self.unrecovered.retain(|m| desired.contains(m));
                    gate.set_subscribed(&desired, Instant::now());
                    let asked_at = UtcMicros::now();
                    for &market in &desired {
                        self.dedupe.watch(market, asked_at);
                    }
                    self.status.set_markets(desired.clone());
                    current = desired;
                    if backfill_due {
                        backfill_deadline = Some(Instant::now() + BACKFILL_CONFIRM_WAIT);
                    }
                }
            }
            if let Some(deadline) = backfill_deadline
                && (self.protocol.subscription_confirmed() || Instant::now() >= deadline)
            {
                if !self.protocol.subscription_confirmed() {
                    warn!(exchange = %self.config.exchange, "subscription not confirmed in time; backfilling anyway");
                }
                backfill_due = false;
                backfill_deadline = None;
                recovery = self.start_recovery(&current);
                // Outages only: the startup window is no hole this feed left behind.
                let outages = self
                    .unrecovered
                    .pending()
                    .into_iter()
                    .filter(|(_, o)| o.report_gap);
                for (market, outage) in outages {
                    let started = FeedOutput::RecoveryStarted {
                        exchange: self.config.exchange,
                        market,
                        since: outage.since,
                    };
                    if self.out.send(started).await.is_err() {
                        return SessionEnd::DownstreamClosed;
                    }
                }
            }
            let resend_at = Instant::now() + self.limiter.delay_until_allowed(Instant::now());
            let backfill_at =
                backfill_deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                () = self.shutdown.cancelled() => {
                    let _ = ws.close(None).await;
                    return SessionEnd::Shutdown;
                }
                changed = self.desired.changed() => {
                    if changed.is_err() {
                        return SessionEnd::Shutdown;
                    }
                    pending_change = true;
                }
                () = tokio::time::sleep_until(resend_at), if pending_change => {}
                () = tokio::time::sleep_until(backfill_at), if backfill_deadline.is_some() => {}
                recovered = next_recovered(&mut recovery), if recovery.is_some() => match recovered {
                    Some(recovered) => {
                        if let Err(end) = self.apply_recovered(recovered, &gate).await {
                            return end;
                        }
                    }
                    None => recovery = None,
                },
                _ = ping.tick() => {
                    if let Err(e) = ws.send(Message::Ping(Bytes::from_static(b"tickmesh"))).await {
                        return SessionEnd::dropped(e);
                    }
                    if let Some(text) = self.protocol.keepalive()
                        && let Err(e) = ws.send(Message::text(text)).await
                    {
                        return SessionEnd::dropped(e);
                    }
                }
                () = tokio::time::sleep_until(last_inbound + self.config.idle_timeout) => {
                    return SessionEnd::IdleTimeout(self.config.idle_timeout);
                }
                frame = ws.next(), if paused_until.is_none() => {
                    last_inbound = Instant::now();
                    if let Some(end) = self.on_frame(frame, &mut events, &gate).await {
                        return end;
                    }
                    if !self.config.read_pause.is_zero() {
                        // Whatever the socket already holds, then a pause while more arrives.
                        let mut drained = 0;
                        while drained < DRAIN_MAX
                            && let Some(frame) = ws.next().now_or_never()
                        {
                            drained += 1;
                            if let Some(end) = self.on_frame(frame, &mut events, &gate).await {
                                return end;
                            }
                        }
                        paused_until = Some(Instant::now() + self.config.read_pause);
                    }
                }
                () = sleep_until_some(paused_until), if paused_until.is_some() => {
                    paused_until = None;
                }
            }
        }
    }

    async fn resubscribe(
        &mut self,
        ws: &mut Socket,
        current: &BTreeSet<Market>,
        desired: &BTreeSet<Market>,
    ) -> Result<(), SessionEnd> {
        for message in self.protocol.resubscribe(current, desired) {
            debug!(exchange = %self.config.exchange, %message, "sending subscription request");
            self.limiter.record(Instant::now());
            ws.send(Message::text(message))
                .await
                .map_err(SessionEnd::dropped)?;
        }
        Ok(())
    }

    /// Starts backfilling every outage still unrecovered among `current`, plus at startup the
    /// configured window before now (not reported as a gap: there was no outage this process
    /// saw). `None` when there is nothing to recover.
    fn start_recovery(&mut self, current: &BTreeSet<Market>) -> Option<Recovery> {
        let now = UtcMicros::now();
        if std::mem::take(self.startup_due) {
            // The window is fixed by the clock, not by the trades seen so far: live trades
            // arriving before the subscription was confirmed must not narrow it.
            let lookback =
                i64::try_from(self.config.startup_backfill.as_micros()).unwrap_or(i64::MAX);
            let since = LastTrade {
                time: UtcMicros(now.as_micros().saturating_sub(lookback)),
                id: TradeId(0),
            };
            for &market in current {
                let outage = match self.config.resume.get(&market) {
                    // Taken over from another owner: recover from its last trade, and report
                    // the gap from its last event to now.
                    Some(resume) => Outage {
                        since: resume.last_trade.unwrap_or(LastTrade {
                            time: resume.last_event,
                            id: TradeId(0),
                        }),
                        report_gap: true,
                        gap_from: Some(resume.last_event),
                    },
                    None => Outage {
                        since,
                        report_gap: false,
                        gap_from: None,
                    },
                };
                self.unrecovered.add(market, outage);
            }
        }
        self.unrecovered.retain(|m| current.contains(m));
        let jobs = self.unrecovered.pending();
        if jobs.is_empty() {
            return None;
        }
        Some(Recovery::spawn(
            Arc::clone(self.history),
            jobs,
            self.config.backfill,
            now,
        ))
    }
}

/// Sleeps until `until`; never resolves for `None`.
async fn sleep_until_some(until: Option<Instant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until).await,
        None => std::future::pending().await,
    }
}

/// The next result of the running backfill (never resolves without one).
async fn next_recovered(recovery: &mut Option<Recovery>) -> Option<Recovered> {
    match recovery {
        Some(recovery) => recovery.next().await,
        None => std::future::pending().await,
    }
}
