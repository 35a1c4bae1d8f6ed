//! The coordinator: one task per replica that holds, renews, takes and hands over leases,
//! and starts and stops the units' feeds with them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tickmesh_bus::{Acquired, Lease, LeaseStore};
use tickmesh_domain::{Exchange, Market, TradeId, UtcMicros};
use tickmesh_feeds::{FeedControl, FeedHandle, LastTrade, Resume};
use tickmesh_proto::routing;
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

mod takeover;

use super::{Fences, OwnershipConfig, Unit, markets_of};
use crate::grpc::{FeedEntry, FeedStatuses};
use crate::service::FeedFactory;
use crate::stats::PublisherStats;

/// Lease changes on this replica, for metrics.
#[derive(Debug, Default)]
pub struct LeaseCounters {
    /// Units taken.
    pub acquired: AtomicU64,
    /// Units handed over (released after their events were published).
    pub released: AtomicU64,
    /// Units lost: a renewal refused, or not confirmed in time.
    pub lost: AtomicU64,
}

/// How often the coordinator looks at its units between renewals (drains, offers, desired
/// sets).
const TICK: Duration = Duration::from_millis(100);

/// How long a holder waits for a successor to be ready before handing a unit over without
/// one (the successor then starts cold, with a gap).
const OFFER_WAIT: Duration = Duration::from_secs(2);

/// Everything the coordinator works with.
#[derive(Debug)]
pub struct Coordinator {
    pub(crate) config: OwnershipConfig,
    pub(crate) store: Arc<dyn LeaseStore>,
    pub(crate) units: Vec<Unit>,
    pub(crate) fences: Arc<Fences>,
    pub(crate) feeds: FeedFactory,
    pub(crate) desired: BTreeMap<Exchange, FeedControl>,
    pub(crate) statuses: FeedStatuses,
    pub(crate) stats: Arc<PublisherStats>,
    pub(crate) counters: Arc<LeaseCounters>,
}

/// Where a held unit is in its life here.
#[derive(Debug)]
enum Phase {
    /// Its feed runs and its events are published.
    Running {
        feed: FeedHandle,
        cancel: CancellationToken,
        markets: BTreeSet<Market>,
        /// Since when the unit is offered to a successor.
        offered: Option<Instant>,
    },
    /// Handing over: the feed was told to stop and has not yet.
    Stopping {
        task: JoinHandle<()>,
        since: Instant,
    },
    /// Handing over: the feed stopped; waiting for the publisher to be done with output
    /// number `target`.
    Draining { target: u64, since: Instant },
}

/// A unit being taken over: connected, its events held back until the lease is ours.
#[derive(Debug)]
struct Warm {
    feed: FeedHandle,
    cancel: CancellationToken,
    markets: BTreeSet<Market>,
    since: Instant,
    ready_sent: bool,
}

#[derive(Debug)]
struct Held {
    lease: Lease,
    /// The fence of the unit's events: besides this and [`Fences`]' copy, each event in
    /// the publisher holds one.
    fence: Arc<tickmesh_bus::Fence>,
    /// When the last renewal (or the grant) that succeeded was sent.
    confirmed_at: Instant,
    phase: Phase,
}

impl Coordinator {
    fn member(&self) -> &str {
        &self.config.member
    }

    /// Runs until `shutdown`, then hands every unit over and leaves.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut held: BTreeMap<Unit, Held> = BTreeMap::new();
        let mut warm: BTreeMap<Unit, Warm> = BTreeMap::new();
        let mut members = vec![self.member().to_owned()];
        let mut next_renewal = Instant::now();
        info!(member = %self.member(), units = self.units.len(), "ingestion replica joining");
        loop {
            if Instant::now() >= next_renewal {
                next_renewal = Instant::now() + self.config.renew_every;
                match self
                    .store
                    .heartbeat(self.member(), self.config.lease_ttl)
                    .await
                {
                    Ok(live) => members = live,
                    Err(e) => warn!(error = %e, "cannot record this replica as alive; retrying"),
                }
                self.renew(&mut held).await;
                self.balance(&mut held, warm.len(), members.len().max(1))
                    .await;
            }
            self.self_fence(&mut held);
            self.steer(&mut held);
            let target = self.units.len().div_ceil(members.len().max(1));
            self.follow_offers(&mut held, &mut warm, target).await;
            self.advance_handovers(&mut held).await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(TICK) => {}
            }
        }
        // Leave first, so the others count one replica less and claim the offers.
        if let Err(e) = self.store.leave(self.member()).await {
            warn!(error = %e, "cannot leave the member list; it expires on its own");
        }
        for (unit, w) in std::mem::take(&mut warm) {
            w.cancel.cancel();
            self.fences.drop_unit(unit);
        }
        let alone = members.iter().all(|m| m == self.member());
        self.hand_over_all(held, alone).await;
        info!(member = %self.member(), "ingestion replica left");
    }

    /// Renews every held lease; a refused renewal loses the unit at once.
    async fn renew(&self, held: &mut BTreeMap<Unit, Held>) {
        let units: Vec<Unit> = held.keys().copied().collect();
        for unit in units {
            let Some(entry) = held.get_mut(&unit) else {
                continue;
            };
            let sent = Instant::now();
            match self.store.renew(&entry.lease, self.config.lease_ttl).await {
                Ok(true) => entry.confirmed_at = sent,
                Ok(false) => {
                    warn!(%unit, token = entry.lease.token, "lease lost to another replica; stopping the unit");
                    self.lose(unit, held);
                }
                Err(e) => warn!(%unit, error = %e, "cannot renew the lease; retrying"),
            }
        }
    }

    /// Stops, at once, every unit whose last confirmed renewal is too old: the lease may be
    /// about to pass to another replica.
    fn self_fence(&self, held: &mut BTreeMap<Unit, Held>) {
        let limit = self.config.self_fence_after();
        let stale: Vec<Unit> = held
            .iter()
            .filter(|(_, h)| h.confirmed_at.elapsed() >= limit)
            .map(|(u, _)| *u)
            .collect();
        for unit in stale {
            warn!(%unit, after = ?limit, "no lease renewal confirmed in time; stopping the unit");
            self.lose(unit, held);
        }
    }

    fn lose(&self, unit: Unit, held: &mut BTreeMap<Unit, Held>) {
        self.fences.drop_unit(unit);
        self.statuses.remove(unit);
        self.counters.lost.fetch_add(1, Ordering::Relaxed);
        if let Some(Held {
            phase: Phase::Running { cancel, .. },
            ..
        }) = held.remove(&unit)
        {
            cancel.cancel();
        }
    }

    /// Moves towards `ceil(units / members)` units: takes free ones, or offers extra ones.
    async fn balance(&self, held: &mut BTreeMap<Unit, Held>, warm: usize, members: usize) {
        let target = self.units.len().div_ceil(members);
        let staying = |h: &Held| matches!(h.phase, Phase::Running { offered: None, .. });
        let running = held.values().filter(|h| staying(h)).count();
        let handing_over = running < held.len();
        if running > target && !handing_over {
            // The extra units at once (they hand over side by side), the last ones in order.
            let extra: Vec<Unit> = held
                .iter()
                .rev()
                .filter(|(_, h)| staying(h))
                .map(|(u, _)| *u)
                .take(running - target)
                .collect();
            for unit in extra {
                info!(%unit, held = running, target, "offering a unit to even the share");
                self.offer(unit, held).await;
            }
            return;
        }
        if held.len() + warm >= target {
            return;
        }
        // Each replica starts looking at its own place in the list, so replicas starting
        // together do not all race for the same units.
        let n = self.units.len();
        let offset =
            usize::try_from(super::units::fnv1a(self.member().as_bytes()) % n.max(1) as u64)
                .unwrap_or(0);
        for i in 0..n {
            if held.len() >= target {
                break;
            }
            let unit = self.units[(i + offset) % n];
            if held.contains_key(&unit) {
                continue;
            }
            let sent = Instant::now();
            match self
                .store
                .acquire(&unit.to_string(), self.member(), self.config.lease_ttl)
                .await
            {
                Ok(Some(acquired)) => match self.take(unit, acquired, sent) {
                    Some(entry) => {
                        held.insert(unit, entry);
                    }
                    None => warn!(%unit, "no feed for the unit's exchange; it is left to expire"),
                },
                Ok(None) => {}
                Err(e) => {
                    warn!(%unit, error = %e, "cannot acquire a lease; retrying");
                    return;
                }
            }
        }
    }

    /// Starts collecting `unit` under its new lease, from where its previous holder stopped.
    fn take(&self, unit: Unit, acquired: Acquired, sent: Instant) -> Option<Held> {
        let Acquired { lease, marks } = acquired;
        let markets = self.markets_of(unit);
        let mut resume = BTreeMap::new();
        for market in &markets {
            if let Some(mark) = marks.get(&routing::partition_key(unit.exchange, market)) {
                resume.insert(
                    *market,
                    Resume {
                        last_event: UtcMicros(mark.event_us),
                        last_trade: mark.trade.map(|(time, id)| LastTrade {
                            time: UtcMicros(time),
                            id: TradeId(id),
                        }),
                    },
                );
            }
        }
        info!(
            %unit, token = lease.token, markets = markets.len(), resumed = resume.len(),
            "lease acquired; collecting the unit"
        );
        // The fence first: the feed's first event must find it.
        let fence = self.fences.hold(unit, &lease, BTreeMap::new());
        let Some((feed, cancel)) = self.feeds.spawn(unit.exchange, resume) else {
            self.fences.drop_unit(unit);
            return None;
        };
        feed.set_markets(markets.clone());
        Some(self.running(unit, lease, fence, sent, (feed, cancel, markets)))
    }

    /// A unit now collected and published here under `lease`: counted, listed, held.
    fn running(
        &self,
        unit: Unit,
        lease: Lease,
        fence: Arc<tickmesh_bus::Fence>,
        confirmed_at: Instant,
        (feed, cancel, markets): (FeedHandle, CancellationToken, BTreeSet<Market>),
    ) -> Held {
        self.counters.acquired.fetch_add(1, Ordering::Relaxed);
        self.statuses.insert(FeedEntry {
            exchange: unit.exchange,
            unit: Some(unit),
            status: feed.status(),
            lease: Some(lease.clone()),
        });
        Held {
            lease,
            fence,
            confirmed_at,
            phase: Phase::Running {
                feed,
                cancel,
                markets,
                offered: None,
            },
        }
    }

    fn markets_of(&self, unit: Unit) -> BTreeSet<Market> {
        self.desired
            .get(&unit.exchange)
            .map(|d| markets_of(unit, self.config.shards, &d.markets()))
            .unwrap_or_default()
    }

    /// Points each running unit's feed at its part of the desired set.
    fn steer(&self, held: &mut BTreeMap<Unit, Held>) {
        for (unit, entry) in held.iter_mut() {
            if let Phase::Running { feed, markets, .. } = &mut entry.phase {
                let wanted = self.markets_of(*unit);
                if *markets != wanted {
                    feed.set_markets(wanted.clone());
                    *markets = wanted;
                }
            }
        }
    }

    fn begin_handover(&self, unit: Unit, held: &mut BTreeMap<Unit, Held>) {
        let Some(entry) = held.get_mut(&unit) else {
            return;
        };
        let phase = std::mem::replace(
            &mut entry.phase,
            Phase::Draining {
                target: 0,
                since: Instant::now(),
            },
        );
        entry.phase = match phase {
            Phase::Running { feed, cancel, .. } => {
                cancel.cancel();
                let (task, _control) = feed.into_parts();
                Phase::Stopping {
                    task,
                    since: Instant::now(),
                }
            }
            other => other,
        };
    }

    /// Moves hand-overs along: a stopped feed starts draining; a drained unit is released.
    async fn advance_handovers(&self, held: &mut BTreeMap<Unit, Held>) {
        let units: Vec<Unit> = held.keys().copied().collect();
        for unit in units {
            let Some(entry) = held.get_mut(&unit) else {
                continue;
            };
            match &entry.phase {
                Phase::Stopping { task, since } if task.is_finished() => {
                    // Its last output is in the channel or beyond: what is queued is read
                    // first, so outputs taken meanwhile only raise the target.
                    let queued = self.feeds.queued() as u64;
                    let received = self.stats.received_so_far();
                    entry.phase = Phase::Draining {
                        target: received + queued,
                        since: *since,
                    };
                }
                Phase::Draining { target, since } => {
                    // Every output of the stopped feed was taken from the channel, and none
                    // of the unit's events is still buffered or in flight.
                    let received = self.stats.received_so_far();
                    let written = received >= *target && Arc::strong_count(&entry.fence) <= 2;
                    let late = since.elapsed() >= self.config.drain_timeout;
                    if written || late {
                        if late {
                            warn!(%unit, "the publisher did not finish the unit's events in time; handing it over anyway");
                        }
                        self.release(unit, held).await;
                    }
                }
                _ => {}
            }
        }
    }

    async fn release(&self, unit: Unit, held: &mut BTreeMap<Unit, Held>) {
        let Some(entry) = held.remove(&unit) else {
            return;
        };
        if let Phase::Running { cancel, .. } = &entry.phase {
            // Released while still running (a stop that ran out of time): stop it here.
            cancel.cancel();
        }
        self.fences.drop_unit(unit);
        self.statuses.remove(unit);
        match self.store.release(&entry.lease).await {
            Ok(true) => {
                self.counters.released.fetch_add(1, Ordering::Relaxed);
                info!(%unit, token = entry.lease.token, "lease released; the unit is handed over");
            }
            Ok(false) => warn!(%unit, "the lease had already passed on when released"),
            Err(e) => warn!(%unit, error = %e, "cannot release the lease; it expires on its own"),
        }
    }

    /// A graceful stop: every unit is offered to a successor; once one is ready (or after
    /// [`OFFER_WAIT`]) its feed stops, the publisher writes what it handed over, and the
    /// lease is released, renewing the leases meanwhile.
    async fn hand_over_all(&self, mut held: BTreeMap<Unit, Held>, alone: bool) {
        let units: Vec<Unit> = held.keys().copied().collect();
        for unit in &units {
            if alone {
                // Nobody to hand over to: no point waiting for a successor.
                self.begin_handover(*unit, &mut held);
            } else {
                self.offer(*unit, &mut held).await;
            }
        }
        let deadline =
            Instant::now() + OFFER_WAIT + self.config.drain_timeout + Duration::from_secs(1);
        let mut next_renewal = Instant::now() + self.config.renew_every;
        let mut none = BTreeMap::new();
        while !held.is_empty() && Instant::now() < deadline {
            if Instant::now() >= next_renewal {
                next_renewal = Instant::now() + self.config.renew_every;
                self.renew(&mut held).await;
            }
            // Target 0: a leaving replica claims nothing.
            self.follow_offers(&mut held, &mut none, 0).await;
            self.advance_handovers(&mut held).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for unit in held.keys().copied().collect::<Vec<_>>() {
            self.release(unit, &mut held).await;
        }
    }
}
