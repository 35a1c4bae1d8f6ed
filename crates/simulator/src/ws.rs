//! One simulated WebSocket connection: requests in, snapshots and realtime frames out,
//! keepalive behaviour, the idle cut, and injected faults.

pub(crate) mod korbit;
pub(crate) mod quotation;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use tickmesh_domain::Market;

use crate::engine::{Engine, SimEvent};
use crate::{Fault, Poison, SimulatorConfig};

/// What a dialect wants done after a client request.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    /// Frames to send, in order.
    pub frames: Vec<String>,
    /// Close with 1000 after the frames (Upbit and Bithumb do so after an error).
    pub close: bool,
}

/// An exchange's socket behaviour.
pub(crate) trait Dialect: Send {
    /// Whether data frames go out as binary (Upbit, Bithumb) or text (Korbit).
    fn binary(&self) -> bool;
    /// Handles a text request.
    fn request(&mut self, text: &str, engine: &Engine, now_ms: i64) -> Reply;
    /// Renders a realtime event if this connection subscribed to it.
    fn realtime(&self, event: &SimEvent, engine: &Engine, now_ms: i64) -> Option<String>;
    /// Whether a text `PING` starts the `{"status":"UP"}` cycle.
    fn answers_text_ping(&self) -> bool;
    /// Whether the server sends protocol pings (Korbit every 30 s).
    fn server_pings(&self) -> bool;
    /// Whether the server cuts idle sockets (Upbit and Bithumb at 60 s).
    fn idle_cut(&self) -> bool;
    /// The markets this connection subscribes to, any kind.
    fn subscribed(&self) -> BTreeSet<Market>;
    /// Renders a hostile frame (about the first market subscribed), `None` while nothing is
    /// subscribed.
    fn poison(&self, poison: Poison, engine: &Engine, now_ms: i64) -> Option<String>;
}

/// A plausible whole price of `market` now, for the levels of a poison book.
pub(crate) fn mid_price(engine: &Engine, market: Market) -> i64 {
    engine
        .snapshot(market)
        .and_then(|(_, ticker, _)| i64::try_from(ticker.last.trunc().mantissa()).ok())
        .unwrap_or(1_000)
}

/// Forgets a connection's subscriptions when it ends, however it ends.
struct Registered<'a> {
    engine: &'a Engine,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.engine.set_subscribed(self.id, None);
    }
}

/// Most events written before one flush.
const WRITE_BATCH: usize = 256;

/// Runs one connection until the client leaves, a fault drops it, or the simulator stops.
pub(crate) async fn run<S>(
    mut ws: WebSocketStream<S>,
    mut dialect: Box<dyn Dialect>,
    engine: Arc<Engine>,
    config: Arc<SimulatorConfig>,
    mut faults: broadcast::Receiver<Fault>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut events = engine.subscribe();
    let registered = Registered {
        engine: &engine,
        id: engine.connection_id(),
    };
    let mut last_inbound = Instant::now();
    let mut up_next: Option<Instant> = None;
    let mut ping_next = Instant::now() + config.server_ping_interval;
    let mut duplicates = 0u32;
    let binary = dialect.binary();
    let frame = |text: String| {
        if binary {
            Message::Binary(Bytes::from(text))
        } else {
            Message::text(text)
        }
    };
    let far = Duration::from_secs(86_400 * 365);
    loop {
        let idle_at = if dialect.idle_cut() {
            last_inbound + config.idle_cut
        } else {
            Instant::now() + far
        };
        let up_at = up_next.unwrap_or_else(|| Instant::now() + far);
        let ping_at = if dialect.server_pings() {
            ping_next
        } else {
            Instant::now() + far
        };
        tokio::select! {
            // Faults and requests before data: a test that injects a fault and then generates
            // data sees them in that order.
            biased;
            () = shutdown.cancelled() => return,
            // The exchanges' idle cut: the TCP connection just goes away, no close frame.
            () = tokio::time::sleep_until(idle_at) => return,
            () = tokio::time::sleep_until(up_at) => {
                up_next = Some(Instant::now() + config.up_interval);
                // Observed: a socket kept alive by the UP cycle outlives the idle cut.
                last_inbound = Instant::now();
                if ws.send(frame(r#"{"status":"UP"}"#.to_owned())).await.is_err() { return; }
            }
            () = tokio::time::sleep_until(ping_at) => {
                ping_next = Instant::now() + config.server_ping_interval;
                if ws.send(Message::Ping(Bytes::from_static(b"ping"))).await.is_err() { return; }
            }
            fault = faults.recv() => match fault {
                Ok(Fault::Drop) => return,
                Ok(Fault::Stall(d)) => {
                    // Neither read nor write, as a stuck server would; pongs stop too.
                    tokio::time::sleep(d).await;
                    last_inbound = Instant::now();
                }
                Ok(Fault::Garbage(n)) => {
                    for i in 0..n {
                        let junk = if i % 2 == 0 { "{\"ty\":\"trade\",\"cd\":" } else { "\u{1}garbage\u{7f}" };
                        if ws.send(frame(junk.to_owned())).await.is_err() { return; }
                    }
                }
                Ok(Fault::Duplicate(n)) => duplicates += n,
                Ok(Fault::Poison(poison)) => {
                    if let Some(text) = dialect.poison(poison, &engine, engine.now_ms())
                        && ws.send(frame(text)).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            message = ws.next() => {
                last_inbound = Instant::now();
                let text = match message {
                    None | Some(Err(_)) => return,
                    Some(Ok(Message::Close(_))) => {
                        let _ = ws.close(None).await;
                        return;
                    }
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                    // tungstenite answers pings itself on the next read.
                    Some(Ok(_)) => continue,
                };
                if dialect.answers_text_ping() && text.trim() == "PING" {
                    if up_next.is_none() {
                        up_next = Some(Instant::now() + config.up_interval);
                    }
                    continue;
                }
                let reply = dialect.request(&text, &engine, engine.now_ms());
                engine.set_subscribed(registered.id, Some(dialect.subscribed()));
                for text in reply.frames {
                    if ws.send(frame(text)).await.is_err() { return; }
                }
                if reply.close {
                    // Observed: the close follows the error frame by about 150 ms.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    let _ = ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() })).await;
                    return;
                }
            }
            event = events.recv() => {
                // Everything already generated goes out in one write (frames stay separate
                // WebSocket messages), as a busy server's socket buffer would send it.
                let mut next = Some(event);
                let mut queued = 0;
                while let Some(event) = next.take() {
                    match event {
                        Ok(event) => {
                            if let Some(text) = dialect.realtime(&event, &engine, engine.now_ms()) {
                                if duplicates > 0 {
                                    duplicates -= 1;
                                    if ws.feed(frame(text.clone())).await.is_err() { return; }
                                }
                                if ws.feed(frame(text)).await.is_err() { return; }
                            }
                        }
                        // A client this slow loses frames, as on the real exchanges.
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            engine.dropped(n);
                            tracing::debug!(missed = n, "simulated connection lagged");
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                    queued += 1;
                    if queued < WRITE_BATCH {
                        next = match events.try_recv() {
                            Ok(event) => Some(Ok(event)),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                Some(Err(broadcast::error::RecvError::Lagged(n)))
                            }
                            Err(broadcast::error::TryRecvError::Closed) => {
                                Some(Err(broadcast::error::RecvError::Closed))
                            }
                            Err(broadcast::error::TryRecvError::Empty) => None,
                        };
                    }
                }
                if ws.flush().await.is_err() { return; }
            }
        }
    }
}
