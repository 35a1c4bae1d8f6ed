//! Make-before-break hand-overs: the holder offers a unit, a successor claims it, connects
//! and holds its events back, says it is ready; the holder then stops the unit, lets the
//! publisher write what it read, and releases the lease; the successor acquires it and
//! publishes what it held back after the seam (each market's last event the holder
//! published), so nothing is missed and nothing written twice.

use std::collections::BTreeMap;

use tickmesh_bus::Acquired;
use tickmesh_feeds::FeedState;
use tokio::time::Instant;
use tracing::{info, warn};

use super::{Coordinator, Held, OFFER_WAIT, Phase, Warm};
use crate::ownership::Unit;

impl Coordinator {
    /// Offers `unit` to a successor; it keeps running until one is ready.
    pub(super) async fn offer(&self, unit: Unit, held: &mut BTreeMap<Unit, Held>) {
        let Some(entry) = held.get_mut(&unit) else {
            return;
        };
        let Phase::Running { offered, .. } = &mut entry.phase else {
            return;
        };
        match self
            .store
            .offer(&entry.lease, self.config.lease_ttl * 2)
            .await
        {
            Ok(true) => *offered = Some(Instant::now()),
            // Lost meanwhile: the renewal notices.
            Ok(false) => {}
            Err(e) => {
                warn!(%unit, error = %e, "cannot offer the unit; handing it over without a successor");
                *offered = Some(Instant::now() - OFFER_WAIT);
            }
        }
    }

    /// One look at the offers: the holder's side (hand over to a ready successor, or
    /// without one after [`OFFER_WAIT`]) and the successor's (claim up to `target`, connect,
    /// say ready, acquire once released).
    pub(super) async fn follow_offers(
        &self,
        held: &mut BTreeMap<Unit, Held>,
        warm: &mut BTreeMap<Unit, Warm>,
        target: usize,
    ) {
        let names: Vec<String> = self.units.iter().map(ToString::to_string).collect();
        let offers = match self.store.offers(&names).await {
            Ok(offers) => offers,
            Err(e) => {
                warn!(error = %e, "cannot read the offers; retrying");
                return;
            }
        };
        for (&unit, offer) in self.units.iter().zip(offers) {
            if let Some(entry) = held.get(&unit) {
                let Phase::Running {
                    offered: Some(since),
                    ..
                } = entry.phase
                else {
                    continue;
                };
                let ready = offer.as_ref().is_some_and(|o| o.ready);
                if ready || since.elapsed() >= OFFER_WAIT {
                    if !ready {
                        warn!(%unit, "no successor ready in time; handing the unit over cold");
                    }
                    self.begin_handover(unit, held);
                }
                continue;
            }
            let Some(offer) = offer else {
                if let Some(w) = warm.remove(&unit) {
                    self.give_up(unit, w, "the offer ended");
                }
                continue;
            };
            let mine = offer.successor.as_deref() == Some(self.member());
            if !mine && !warm.contains_key(&unit) {
                if offer.successor.is_some() || held.len() + warm.len() >= target {
                    continue;
                }
                match self.store.claim(&unit.to_string(), self.member()).await {
                    Ok(true) => self.warm_up(unit, warm),
                    Ok(false) => {}
                    Err(e) => warn!(%unit, error = %e, "cannot claim the offered unit"),
                }
                continue;
            }
            self.advance_warm(unit, held, warm).await;
        }
    }

    /// Connects to a claimed unit without publishing: its events are held back.
    fn warm_up(&self, unit: Unit, warm: &mut BTreeMap<Unit, Warm>) {
        self.fences.pend(unit);
        // With the startup window recovered like any new feed's: if the holder stops before
        // this connection's first frames, the trades in between still come from REST, and
        // the seam drops those the holder published.
        let Some((feed, cancel)) = self.feeds.spawn(unit.exchange, BTreeMap::new()) else {
            self.fences.drop_unit(unit);
            return;
        };
        let markets = self.markets_of(unit);
        feed.set_markets(markets.clone());
        info!(%unit, markets = markets.len(), "claimed an offered unit; connecting before taking it");
        warm.insert(
            unit,
            Warm {
                feed,
                cancel,
                markets,
                since: Instant::now(),
                ready_sent: false,
            },
        );
    }

    /// Says ready once connected; acquires once released; gives up after a while.
    async fn advance_warm(
        &self,
        unit: Unit,
        held: &mut BTreeMap<Unit, Held>,
        warm: &mut BTreeMap<Unit, Warm>,
    ) {
        let Some(w) = warm.get_mut(&unit) else { return };
        if w.since.elapsed() >= self.config.lease_ttl * 3 {
            if let Some(w) = warm.remove(&unit) {
                self.give_up(unit, w, "the holder did not release it in time");
            }
            return;
        }
        if !w.ready_sent {
            // Ready once data flows: the subscription is live (exchanges answer it with
            // snapshots), so from here on this connection sees what the holder sees.
            let status = w.feed.status().snapshot(tickmesh_domain::UtcMicros::now());
            if status.state == FeedState::Connected && status.events > 0 {
                match self.store.ready(&unit.to_string(), self.member()).await {
                    Ok(()) => w.ready_sent = true,
                    Err(e) => warn!(%unit, error = %e, "cannot say ready; retrying"),
                }
            }
            return;
        }
        let sent = Instant::now();
        match self
            .store
            .acquire(&unit.to_string(), self.member(), self.config.lease_ttl)
            .await
        {
            Ok(Some(Acquired { lease, marks })) => {
                let Some(w) = warm.remove(&unit) else { return };
                info!(%unit, token = lease.token, "took the unit over without a break");
                // The seam: what the predecessor published is skipped from what was held.
                let fence = self.fences.hold(unit, &lease, marks);
                let entry = self.running(unit, lease, fence, sent, (w.feed, w.cancel, w.markets));
                held.insert(unit, entry);
            }
            Ok(None) => {}
            Err(e) => warn!(%unit, error = %e, "cannot acquire the claimed unit; retrying"),
        }
    }

    fn give_up(&self, unit: Unit, w: Warm, why: &str) {
        warn!(%unit, why, "giving up a unit being taken over");
        w.cancel.cancel();
        self.fences.drop_unit(unit);
    }
}
