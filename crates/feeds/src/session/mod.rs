//! One WebSocket session: subscribe, stay alive, follow the desired set, parse, and report why
//! it ended.
//!
//! A session never reconnects by itself; [`crate::feed`] decides what to do with its
//! [`SessionEnd`].

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tickmesh_domain::{FeedGap, Market, MarketEvent, Payload, TradeId, UtcMicros};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing::{debug, info, warn};

use crate::backfill::backfill;
use crate::dedupe::{LastTrade, TradeDeduper};
use crate::feed::{FeedConfig, FeedOutput};
use crate::protocol::{Control, TradeHistory, WireProtocol};
use crate::ratelimit::MessageRateLimiter;
use crate::status::FeedStatus;

/// The socket type sessions run on.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// tickmesh is shutting down.
    Shutdown,
    /// The desired set became empty, so the socket was closed on purpose.
    Unsubscribed,
    /// Whoever consumes the feed's output went away.
    DownstreamClosed,
    /// The exchange sent a close frame.
    ServerClosed(String),
    /// The connection ended without a close frame (the exchanges' idle cut looks like this).
    Dropped(String),
    /// Nothing at all, not even a pong, arrived for the idle timeout: a dead or stalled socket.
    IdleTimeout(Duration),
    /// The exchange reported an error and closes the socket after it.
    ExchangeError(String),
}

impl SessionEnd {
    /// Returns whether the feed should reconnect after this end.
    pub fn should_reconnect(&self) -> bool {
        !matches!(
            self,
            SessionEnd::Shutdown | SessionEnd::DownstreamClosed | SessionEnd::Unsubscribed
        )
    }
}

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionEnd::Shutdown => f.write_str("shutting down"),
            SessionEnd::Unsubscribed => f.write_str("no market subscribed"),
            SessionEnd::DownstreamClosed => f.write_str("output channel closed"),
            SessionEnd::ServerClosed(why) => write!(f, "exchange closed the connection: {why}"),
            SessionEnd::Dropped(why) => {
                write!(f, "connection dropped without a close frame: {why}")
            }
            SessionEnd::IdleTimeout(after) => write!(f, "no traffic for {after:?}"),
            SessionEnd::ExchangeError(why) => write!(f, "exchange error: {why}"),
        }
    }
}

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
}

/// How long backfill waits for the exchange to confirm the resubscription after a reconnect.
const BACKFILL_CONFIRM_WAIT: Duration = Duration::from_secs(5);

/// How many malformed frames are logged in full before sampling one in a thousand.
const LOGGED_PARSE_ERRORS: u64 = 10;

impl SessionContext<'_> {
    /// Runs a session on an open socket until it ends. `reconnected` triggers backfill.
    pub(crate) async fn run(&mut self, mut ws: Socket, reconnected: bool) -> SessionEnd {
        self.protocol.reset();
        let mut current: BTreeSet<Market> = BTreeSet::new();
        let mut pending_change = true;
        let startup = !reconnected && !self.config.startup_backfill.is_zero();
        // Where each market's outage began: the newest trade seen before this session, or when
        // the market was first watched if it showed no trade. Taken now, because the new
        // session's first frames (an exchange's snapshot of its latest trade) would otherwise
        // move it past the trades made during the outage.
        let outage_since = self.dedupe.outage_starts();
        let mut backfill_due = reconnected || startup;
        // Set once the subscription request is out: backfill runs when the exchange confirms
        // it, or at this deadline if it never does.
        let mut backfill_deadline: Option<Instant> = None;
        let mut last_inbound = Instant::now();
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.reset();
        let mut events: Vec<MarketEvent> = Vec::with_capacity(64);
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
                if let Err(end) = self.backfill_all(&current, startup, &outage_since).await {
                    return end;
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
                _ = ping.tick() => {
                    if let Err(e) = ws.send(Message::Ping(Bytes::from_static(b"tickmesh"))).await {
                        return SessionEnd::Dropped(e.to_string());
                    }
                    if let Some(text) = self.protocol.keepalive()
                        && let Err(e) = ws.send(Message::text(text)).await
                    {
                        return SessionEnd::Dropped(e.to_string());
                    }
                }
                () = tokio::time::sleep_until(last_inbound + self.config.idle_timeout) => {
                    return SessionEnd::IdleTimeout(self.config.idle_timeout);
                }
                frame = ws.next() => {
                    last_inbound = Instant::now();
                    let received = UtcMicros::now();
                    let payload = match frame {
                        None => return SessionEnd::Dropped("stream ended".to_owned()),
                        Some(Err(e)) => return SessionEnd::Dropped(e.to_string()),
                        Some(Ok(Message::Binary(b))) => b,
                        Some(Ok(Message::Text(t))) => Bytes::from(t),
                        Some(Ok(Message::Close(frame))) => {
                            let why = frame.map_or_else(|| "no reason".to_owned(), |f| format!("{} {}", f.code, f.reason));
                            return SessionEnd::ServerClosed(why);
                        }
                        Some(Ok(_)) => {
                            // Pings are answered by tungstenite itself; pongs prove liveness.
                            self.status.record_traffic(received);
                            continue;
                        }
                    };
                    if let Some(end) = self.handle_payload(&payload, received, &mut events).await {
                        return end;
                    }
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
                .map_err(|e| SessionEnd::Dropped(e.to_string()))?;
        }
        Ok(())
    }

    async fn handle_payload(
        &mut self,
        payload: &[u8],
        received: UtcMicros,
        events: &mut Vec<MarketEvent>,
    ) -> Option<SessionEnd> {
        events.clear();
        match self.protocol.parse(payload, received, events) {
            Ok(Control::Data) => {
                self.status.record_message(received, events.len() as u64);
                // One span per data frame, at debug level so it costs nothing unless asked for
                // (`log.filter = "info,tickmesh_feeds=debug"` with OTLP export on).
                let frame = tracing::debug_span!(
                    "feed.frame",
                    exchange = %self.config.exchange,
                    events = events.len()
                );
                let forwarded = async {
                    for event in events.drain(..) {
                        if let Payload::Trade(trade) = &event.payload
                            && !self.dedupe.first_sighting(
                                event.market,
                                trade.trade_id,
                                event.exchange_time,
                            )
                        {
                            self.status.record_duplicate();
                            continue;
                        }
                        if self.out.send(FeedOutput::Event(event)).await.is_err() {
                            return false;
                        }
                    }
                    true
                }
                .instrument(frame)
                .await;
                if !forwarded {
                    return Some(SessionEnd::DownstreamClosed);
                }
            }
            Ok(Control::Keepalive | Control::Ignored) => self.status.record_traffic(received),
            Ok(Control::Ack(id)) => {
                debug!(exchange = %self.config.exchange, request_id = id, "subscription acknowledged")
            }
            Ok(Control::Rejected {
                request_id,
                message,
            }) => {
                warn!(exchange = %self.config.exchange, ?request_id, %message, "exchange rejected a subscription request");
            }
            Ok(Control::Fatal(message)) => return Some(SessionEnd::ExchangeError(message)),
            Err(e) => {
                let count = self.status.record_parse_error();
                if count <= LOGGED_PARSE_ERRORS || count.is_multiple_of(1_000) {
                    let sample = String::from_utf8_lossy(&payload[..payload.len().min(256)]);
                    warn!(exchange = %self.config.exchange, error = %e, %sample, count, "skipping malformed frame");
                }
            }
        }
        None
    }

    /// Recovers trades missed during the outage for every market with a known last trade, or
    /// at `startup` those of the configured time before it (not reported as a gap: there was
    /// no outage this process saw).
    async fn backfill_all(
        &mut self,
        markets: &BTreeSet<Market>,
        startup: bool,
        outage_since: &std::collections::HashMap<Market, LastTrade>,
    ) -> Result<(), SessionEnd> {
        let reconnected_at = UtcMicros::now();
        let lookback = i64::try_from(self.config.startup_backfill.as_micros()).unwrap_or(i64::MAX);
        for &market in markets {
            // At startup the window is fixed by the clock, not by the trades seen so far: live
            // trades arriving before the subscription was confirmed must not narrow it.
            let since = if startup {
                LastTrade {
                    time: UtcMicros(reconnected_at.as_micros().saturating_sub(lookback)),
                    id: TradeId(0),
                }
            } else {
                match outage_since.get(&market) {
                    Some(since) => *since,
                    None => continue,
                }
            };
            let result = backfill(self.history.as_ref(), market, since, self.config.backfill).await;
            let (recovered, complete) = match result {
                Ok(found) => {
                    let mut recovered = 0u64;
                    for (time, trade) in found.trades {
                        if !self.dedupe.first_sighting(market, trade.trade_id, time) {
                            continue;
                        }
                        recovered += 1;
                        let event = MarketEvent {
                            exchange: self.config.exchange,
                            market,
                            exchange_time: time,
                            received_time: UtcMicros::now(),
                            payload: Payload::Trade(trade),
                            raw: None,
                        };
                        if self.out.send(FeedOutput::Event(event)).await.is_err() {
                            return Err(SessionEnd::DownstreamClosed);
                        }
                    }
                    (recovered, found.complete)
                }
                Err(e) => {
                    warn!(exchange = %self.config.exchange, %market, error = %e, "trade backfill failed");
                    (0, false)
                }
            };
            self.status.record_events(reconnected_at, recovered);
            if startup {
                info!(exchange = %self.config.exchange, %market, recovered, "recovered recent trades at startup");
                continue;
            }
            self.status.record_gap(recovered);
            let gap = FeedGap {
                exchange: self.config.exchange,
                market,
                from: since.time,
                to: reconnected_at,
                backfilled_trades: recovered,
                complete,
            };
            info!(exchange = %gap.exchange, %market, recovered, complete, "reported feed gap after reconnect");
            if self.out.send(FeedOutput::Gap(gap)).await.is_err() {
                return Err(SessionEnd::DownstreamClosed);
            }
        }
        Ok(())
    }
}
