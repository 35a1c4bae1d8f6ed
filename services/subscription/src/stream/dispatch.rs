//! The hub's dispatcher task: reads the one upstream live inbox, decodes each payload once and
//! hands the shared event to the clients (see [`super::hub`]) through the registry in
//! [`super::clients`].
//!
//! Nothing here waits on a client: pushing into a client inbox is a short, non-blocking step.
//! Payloads that are not market events are counted and logged at most once per
//! [`LOG_EVERY`] (with how many were suppressed), so a publisher gone wrong cannot flood the
//! log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tickmesh_bus::{Inbox, LiveMessage, Received};
use tickmesh_proto::codec::decode_shared;
use tickmesh_telemetry::ErrorChain;
use tracing::{debug, warn};

use super::clients::{Clients, TickEvent};

/// The longest a repeated warning stays silent.
pub(super) const LOG_EVERY: Duration = Duration::from_secs(10);

/// Runs until the hub is closed or the upstream subscription ends, then closes the hub so
/// every client stream ends; or until no client has been connected for the hub's
/// `idle_unsubscribe`, then drops the upstream subscription and leaves the hub open (the
/// next client subscribes again).
pub(super) async fn run(
    mut upstream: Inbox<LiveMessage>,
    clients: Arc<Clients>,
    idle_after: Duration,
) {
    let mut bad_payloads = Sampler::default();
    let mut upstream_lags = Sampler::default();
    let mut idle = Idle::default();
    // Clients leave without telling the dispatcher, and a quiet bus sends nothing: look
    // now and then, not on every message.
    let mut check = tokio::time::interval(idle_after.clamp(IDLE_CHECK_MIN, IDLE_CHECK_MAX));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = tokio::select! {
            biased;
            () = clients.closing().cancelled() => {
                debug!("tick hub closed");
                break;
            }
            next = upstream.recv() => next,
            _ = check.tick() => {
                if idle.expired(clients.has_clients(), idle_after) && clients.retire_if_idle() {
                    debug!("no stream clients: dropping the live bus subscription");
                    return;
                }
                continue;
            }
        };
        match next {
            Some(Received::Item(message)) => {
                if !clients.has_clients() {
                    continue;
                }
                if message
                    .channel
                    .starts_with(tickmesh_proto::routing::GAP_PREFIX)
                {
                    match tickmesh_proto::codec::decode_gap(&message.payload) {
                        Ok(gap) => {
                            clients.deliver_gap(&gap);
                        }
                        Err(e) => {
                            warn!(channel = %message.channel, error = %ErrorChain(&e), "skipping a gap payload that is not a gap")
                        }
                    }
                    continue;
                }
                let (position, payload) = tickmesh_bus::position::unframe(&message.payload);
                match decode_shared(&payload) {
                    Ok(event) => {
                        clients.deliver(TickEvent { position, event });
                    }
                    Err(e) => {
                        let total = clients.undecodable();
                        if let Some(suppressed) = bad_payloads.sample(Instant::now()) {
                            warn!(
                                channel = %message.channel,
                                error = %ErrorChain(&e),
                                suppressed,
                                total,
                                "skipping a live payload that is not a market event"
                            );
                        }
                    }
                }
            }
            Some(Received::Lagged(missed)) => {
                let total = clients.lagged(missed);
                if let Some(suppressed) = upstream_lags.sample(Instant::now()) {
                    warn!(
                        missed,
                        suppressed,
                        total,
                        "tick hub fell behind the live bus; clients were sent lagged markers"
                    );
                }
            }
            None => {
                warn!("live bus subscription ended; closing every tick stream");
                break;
            }
        }
    }
    clients.close();
}

/// Bounds of how often the dispatcher looks for an idle hub.
const IDLE_CHECK_MIN: Duration = Duration::from_millis(10);
const IDLE_CHECK_MAX: Duration = Duration::from_secs(1);

/// Since when the hub has had no client.
#[derive(Debug, Default)]
struct Idle {
    since: Option<Instant>,
}

impl Idle {
    /// Records whether clients are connected; true once there has been none for `after`.
    fn expired(&mut self, has_clients: bool, after: Duration) -> bool {
        if has_clients {
            self.since = None;
            return false;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        since.elapsed() >= after
    }
}

/// Decides when a repeated warning may be logged again.
#[derive(Debug, Default)]
struct Sampler {
    last: Option<Instant>,
    suppressed: u64,
}

impl Sampler {
    /// `Some(occurrences suppressed since the last log)` when this occurrence should be logged.
    fn sample(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < LOG_EVERY => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sampler_logs_the_first_then_once_per_period_with_the_suppressed_count() {
        let mut sampler = Sampler::default();
        let start = Instant::now();
        assert_eq!(sampler.sample(start), Some(0));
        assert_eq!(sampler.sample(start + Duration::from_secs(1)), None);
        assert_eq!(sampler.sample(start + Duration::from_secs(9)), None);
        assert_eq!(sampler.sample(start + LOG_EVERY), Some(2));
        assert_eq!(sampler.sample(start + LOG_EVERY), None);
    }
}
