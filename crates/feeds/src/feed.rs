//! A feed: one exchange, one socket at a time, reconnecting forever.
//!
//! The feed follows a desired set of markets given through [`FeedHandle::set_markets`]. While
//! the set is empty no socket is open. Otherwise it connects, runs a [`crate::session`] until it
//! ends, waits a jittered backoff and connects again, resubscribing the whole set and
//! backfilling missed trades.
//!
//! Output goes to a bounded channel shared with the caller. When it is full the feed waits
//! (backpressure), so nothing is dropped here; the exchange-side TCP buffers absorb short
//! stalls, and the publisher downstream owns the overflow policy for long ones.

use std::collections::BTreeSet;
use std::sync::Arc;

use tickmesh_domain::Market;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::backoff::Backoff;
use crate::config::{FeedConfig, FeedOutput};
use crate::dedupe::TradeDeduper;
use crate::edge::EdgeLimits;
use crate::protocol::{TradeHistory, WireProtocol};
use crate::ratelimit::MessageRateLimiter;
use crate::recovery::Unrecovered;
use crate::session::{SessionContext, SessionEnd};
use crate::status::{FeedState, FeedStatus};

/// Changes a running feed's desired markets; cheap to clone.
#[derive(Debug, Clone)]
pub struct FeedControl(Arc<watch::Sender<BTreeSet<Market>>>);

impl FeedControl {
    /// A control attached to no feed: what is set on it can only be read back. For testing
    /// what steers feeds without running one.
    pub fn detached() -> FeedControl {
        FeedControl(Arc::new(watch::Sender::new(BTreeSet::new())))
    }

    /// Replaces the desired set.
    pub fn set_markets(&self, markets: BTreeSet<Market>) {
        self.0.send_replace(markets);
    }

    /// The desired set now.
    pub fn markets(&self) -> BTreeSet<Market> {
        self.0.borrow().clone()
    }

    /// Follows the desired set (for what steers several feeds from one set).
    pub fn subscribe(&self) -> watch::Receiver<BTreeSet<Market>> {
        self.0.subscribe()
    }
}

/// Controls a running feed.
#[derive(Debug)]
pub struct FeedHandle {
    desired: Arc<watch::Sender<BTreeSet<Market>>>,
    status: Arc<FeedStatus>,
    task: JoinHandle<()>,
}

impl FeedHandle {
    /// Replaces the desired set; the feed applies it within the exchange's message limits.
    pub fn set_markets(&self, markets: BTreeSet<Market>) {
        self.desired.send_replace(markets);
    }

    /// A cloneable handle that changes the desired set (for a task that follows
    /// subscriptions while the owner keeps the handle).
    pub fn control(&self) -> FeedControl {
        FeedControl(Arc::clone(&self.desired))
    }

    /// Returns the feed's live status.
    pub fn status(&self) -> Arc<FeedStatus> {
        Arc::clone(&self.status)
    }

    /// The feed's task, which ends after shutdown is cancelled or the output closes, and the
    /// desired set's sender. The feed also ends once every holder of that sender (this and
    /// every [`FeedControl`]) dropped it, so keep it for as long as the feed should run.
    pub fn into_parts(self) -> (JoinHandle<()>, FeedControl) {
        (self.task, FeedControl(self.desired))
    }

    /// Waits for the feed to stop (after shutdown is cancelled or the output closes).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            warn!(error = %e, "feed task failed");
        }
    }
}

/// Starts a feed task. It runs until `shutdown` is cancelled or `out` is closed.
pub fn spawn_feed(
    config: FeedConfig,
    protocol: Box<dyn WireProtocol>,
    history: Arc<dyn TradeHistory>,
    out: mpsc::Sender<FeedOutput>,
    shutdown: CancellationToken,
) -> FeedHandle {
    let (desired_tx, desired_rx) = watch::channel(BTreeSet::new());
    let status = Arc::new(FeedStatus::new(config.exchange));
    let task_status = Arc::clone(&status);
    let task = tokio::spawn(run_feed(
        config,
        protocol,
        history,
        desired_rx,
        out,
        task_status,
        shutdown,
    ));
    FeedHandle {
        desired: Arc::new(desired_tx),
        status,
        task,
    }
}

async fn run_feed(
    config: FeedConfig,
    mut protocol: Box<dyn WireProtocol>,
    history: Arc<dyn TradeHistory>,
    mut desired: watch::Receiver<BTreeSet<Market>>,
    out: mpsc::Sender<FeedOutput>,
    status: Arc<FeedStatus>,
    shutdown: CancellationToken,
) {
    let seed = std::process::id() as u64 ^ (config.exchange as u64).wrapping_mul(0x9E37_79B9);
    let mut backoff = Backoff::new(config.backoff, seed);
    let mut dedupe = TradeDeduper::new(config.dedupe_window);
    let mut limiter = MessageRateLimiter::new(config.message_limits.clone());
    let mut unrecovered = Unrecovered::default();
    let mut startup_due = !config.startup_backfill.is_zero() || !config.resume.is_empty();
    let mut connected_before = false;
    loop {
        let wanted = desired.borrow_and_update().clone();
        status.set_markets(wanted.clone());
        if wanted.is_empty() {
            status.set_state(FeedState::Idle);
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = desired.changed() => if changed.is_err() { return },
            }
            continue;
        }
        status.set_state(FeedState::Connecting);
        let connect = tokio::time::timeout(config.connect_timeout, connect(&config));
        let end = tokio::select! {
            () = shutdown.cancelled() => return,
            result = connect => match result {
                Ok(Ok(ws)) => {
                    if connected_before {
                        status.record_reconnect();
                    }
                    let reconnected = std::mem::replace(&mut connected_before, true);
                    status.set_state(FeedState::Connected);
                    info!(exchange = %config.exchange, url = %config.ws_url, reconnected, "feed connected");
                    let started = Instant::now();
                    let mut session = SessionContext {
                        config: &config,
                        protocol: protocol.as_mut(),
                        history: &history,
                        desired: &mut desired,
                        out: &out,
                        status: &status,
                        dedupe: &mut dedupe,
                        shutdown: &shutdown,
                        limiter: &mut limiter,
                        unrecovered: &mut unrecovered,
                        startup_due: &mut startup_due,
                    };
                    let end = session.run(ws, reconnected).await;
                    if started.elapsed() >= config.healthy_after {
                        backoff.reset();
                    }
                    end
                }
                Ok(Err(e)) => SessionEnd::dropped(format_args!("connect failed: {e}")),
                Err(_) => SessionEnd::Dropped(format!("connect timed out after {:?}", config.connect_timeout)),
            },
        };
        status.set_disconnect_reason(end.to_string());
        if !end.should_reconnect() {
            info!(exchange = %config.exchange, reason = %end, "feed session ended");
            if matches!(end, SessionEnd::Unsubscribed) {
                continue;
            }
            status.set_state(FeedState::Idle);
            return;
        }
        status.set_state(FeedState::BackingOff);
        let delay = backoff.next_delay();
        warn!(exchange = %config.exchange, reason = %end, ?delay, "feed disconnected, reconnecting");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// The read buffer: tungstenite zeroes the free part of it before every read (up to this
/// size), so its 128 KiB default cost more than the frames read at high rates (`perf` on
/// `tickmesh bench`). Exchange frames are a few hundred bytes; 16 KiB still takes dozens of
/// them per read, and a larger frame just takes more reads.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// The socket's settings: the read buffer, and the hard cap on messages and frames, so a
/// peer announcing a huge frame is cut off before its payload is buffered (tungstenite would
/// otherwise accept 64 MiB).
fn socket_config(edge: &EdgeLimits) -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(edge.hard_cap()))
        .max_frame_size(Some(edge.hard_cap()))
}

async fn connect(
    config: &FeedConfig,
) -> Result<crate::session::Socket, tokio_tungstenite::tungstenite::Error> {
    // rustls needs a process-wide crypto provider for wss://; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Nagle off: the feed writes small control frames (subscriptions, pings) that must not
    // wait for an acknowledgement of the previous write.
    let (ws, _response) = tokio_tungstenite::connect_async_with_config(
        config.ws_url.as_str(),
        Some(socket_config(&config.edge)),
        true,
    )
    .await?;
    Ok(ws)
}
